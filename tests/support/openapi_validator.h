#pragma once

#include <string>
#include <string_view>

#include "raw_http.h"

namespace cdn::test {

/** How an answer from /api/ or /internal/ disagrees with the OpenAPI document
 *  (src/api/openapi.yaml, as the build turns it into JSON), naming the route, the status and the
 *  schema error: the operation for `method` and `target` does not declare the status, or the
 *  body is not what the declared response holds (its JSON schema, checked by valijson). Empty
 *  when the answer agrees, and for a target outside /api/ and /internal/. An answer for a path
 *  or method the document does not have (404 `not_found`, 405 `method_not_allowed`) is checked
 *  against the error schema. */
std::string openapi_violation(std::string_view method, std::string_view target,
                              const RawResponse& res);

/** While one lives, this thread's requests go to a server that does not serve the API (an edge
 *  node): its answers on API paths are checked as for a path the document does not have. */
class WithoutApiRoutes {
public:
    WithoutApiRoutes();
    ~WithoutApiRoutes();
    WithoutApiRoutes(const WithoutApiRoutes&) = delete;
    WithoutApiRoutes& operator=(const WithoutApiRoutes&) = delete;
};

} // namespace cdn::test
