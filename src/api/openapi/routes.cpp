#include "api/openapi/routes.h"

#include <memory>
#include <string>

#include "api/openapi/document.h"

namespace cdn::api {

void add_openapi_routes(ApiRouter& router, ApiDeps& /*deps*/) {
    // One copy of the document for every response (the body is shared, never copied).
    auto body = std::make_shared<const std::string>(openapi_document());
    router.add({.method = "GET",
                .pattern = "/api/v1/openapi.json",
                .operation_id = "openapi",
                .access = Access::Public,
                .handler = [body](ApiRequest&) {
                    http::Response res;
                    res.status = 200;
                    res.set_header("Content-Type", "application/json");
                    res.body = body;
                    return res;
                }});
}

} // namespace cdn::api
