#include "api/keys/routes.h"

namespace cdn::api {

void add_keys_routes(ApiRouter& /*router*/, ApiDeps& /*deps*/) {}

} // namespace cdn::api
