#pragma once

#include "api/api.h"

namespace cdn::api {

/** The keys module's routes (api.md). */
void add_keys_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
