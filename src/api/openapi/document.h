#pragma once

#include <string_view>

namespace cdn::api {

/** The OpenAPI 3.1 document of the management and internal API (JSON text), as served at
 *  GET /api/v1/openapi.json. */
std::string_view openapi_document();

} // namespace cdn::api
