#pragma once

#include "api/api.h"

namespace cdn::api {

/** The auth module's routes (api.md). */
void add_auth_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
