#include "api/openapi/document.h"

// Generated at build time from src/api/openapi.yaml (cmake/OpenApi.cmake).
#include "openapi_json.h"

namespace cdn::api {

std::string_view openapi_document() {
    return generated::OPENAPI_JSON;
}

} // namespace cdn::api
