#pragma once

#include "api/api.h"

namespace cdn::api {

/** The openapi module's routes (api.md). */
void add_openapi_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
