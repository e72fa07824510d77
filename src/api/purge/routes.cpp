#include "api/purge/routes.h"

namespace cdn::api {

void add_purge_routes(ApiRouter& /*router*/, ApiDeps& /*deps*/) {}

} // namespace cdn::api
