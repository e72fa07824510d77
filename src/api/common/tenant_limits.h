#pragma once

#include <string>

#include "api/api.h"

namespace cdn::api {

/**
 * `handler` behind a per-customer budget of `[limits] purge_requests_per_minute` calls a
 * minute for one kind of write ("purge", "settings"), counted in the KV store so that it holds
 * across nodes: each of these writes fans out to every edge node (a purge walks both cache
 * tiers, a settings change reloads the customer), so one customer must not be able to keep
 * every node busy with them. Over the budget: 429 rate_limited with Retry-After (seconds to
 * the next minute). Every call counts, malformed ones too. When the KV store cannot answer the
 * call is refused (503 unavailable): a purge could not be announced anyway.
 */
ApiHandler limit_per_customer(ApiDeps& deps, std::string kind, ApiHandler handler);

} // namespace cdn::api
