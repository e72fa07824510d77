#pragma once

#include "api/api.h"

namespace cdn::api {

/** The usage module's routes (api.md). */
void add_usage_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
