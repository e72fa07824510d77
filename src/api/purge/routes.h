#pragma once

#include "api/api.h"

namespace cdn::api {

/** The purge module's routes (api.md). */
void add_purge_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
