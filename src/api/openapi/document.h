#pragma once

#include <string_view>

namespace cdn::api {

/** The OpenAPI 3.1 document of the management and internal API (JSON text), as served at
 *  GET /api/v1/openapi.json. Its one source is src/api/openapi.yaml, turned into JSON and
 *  embedded at build time (cmake/OpenApi.cmake). The CTest openapi_lint lints it,
 *  tests/unit/api/openapi_test.cpp checks it against the router, openapi_limits_test.cpp against
 *  the server's limits, and the integration tests validate every /api/ and /internal/ answer
 *  they receive against it (tests/support/openapi_validator.h). */
std::string_view openapi_document();

} // namespace cdn::api
