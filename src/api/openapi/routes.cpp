#include "api/openapi/routes.h"

namespace cdn::api {

void add_openapi_routes(ApiRouter& /*router*/, ApiDeps& /*deps*/) {}

} // namespace cdn::api
