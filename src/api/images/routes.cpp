#include "api/images/routes.h"

namespace cdn::api {

void add_images_routes(ApiRouter& /*router*/, ApiDeps& /*deps*/) {}

} // namespace cdn::api
