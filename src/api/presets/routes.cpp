#include "api/presets/routes.h"

namespace cdn::api {

void add_presets_routes(ApiRouter& /*router*/, ApiDeps& /*deps*/) {}

} // namespace cdn::api
