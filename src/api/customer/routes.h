#pragma once

#include "api/api.h"

namespace cdn::api {

/** The customer module's routes (api.md). */
void add_customer_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
