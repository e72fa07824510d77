#include "api/auth/routes.h"

namespace cdn::api {

void add_auth_routes(ApiRouter& /*router*/, ApiDeps& /*deps*/) {}

} // namespace cdn::api
