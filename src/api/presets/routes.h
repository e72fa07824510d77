#pragma once

#include "api/api.h"

namespace cdn::api {

/** The presets module's routes (api.md). */
void add_presets_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
