#include "api/usage/routes.h"

namespace cdn::api {

void add_usage_routes(ApiRouter& /*router*/, ApiDeps& /*deps*/) {}

} // namespace cdn::api
