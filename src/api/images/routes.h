#pragma once

#include "api/api.h"

namespace cdn::api {

/** The images module's routes (api.md). */
void add_images_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
