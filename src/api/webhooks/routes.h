#pragma once

#include "api/api.h"

namespace cdn::api {

/** POST /api/v1/webhooks/stripe (api.md Webhooks): signed Stripe events, each applied once. */
void add_webhooks_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
