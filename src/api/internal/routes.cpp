#include "api/internal/routes.h"

namespace cdn::api {

void add_internal_routes(ApiRouter& /*router*/, ApiDeps& /*deps*/) {}

} // namespace cdn::api
