#include "api/openapi/document.h"

// Generated at build time from src/api/openapi.yaml (cmake/OpenApi.cmake). One string literal
// over 64 KiB, the least a compiler must take: GCC and clang take it, but clang's -Wpedantic
// warns (the sanitizer build is clang's).
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Woverlength-strings"
#endif
#include "openapi_json.h"
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

namespace cdn::api {

std::string_view openapi_document() {
    return generated::OPENAPI_JSON;
}

} // namespace cdn::api
