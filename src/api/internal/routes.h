#pragma once

#include "api/api.h"

namespace cdn::api {

/** The internal module's routes (api.md). */
void add_internal_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
