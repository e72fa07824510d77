#include "api/common/tenant_limits.h"

#include <utility>

#include "api/common/json.h"
#include "kv/window_limiter.h"

namespace cdn::api {

ApiHandler limit_per_customer(ApiDeps& deps, std::string kind, ApiHandler handler) {
    kv::WindowLimiter limiter(deps.kv, deps.clock, "tenantlimit:" + kind);
    return [&deps, kind = std::move(kind), limiter = std::move(limiter),
            handler = std::move(handler)](ApiRequest& request) -> core::Result<http::Response> {
        const auto decision =
            limiter.admit(request.caller().customer_id, deps.config.purge_requests_per_minute);
        if (!decision) {
            return core::make_error(core::Errc::Unavailable, "the rate limit store is unavailable",
                                    decision.error().detail);
        }
        if (!decision->allowed) {
            const auto refused = core::make_error(
                core::Errc::RateLimited,
                "too many " + kind + " requests for this account; try again after Retry-After "
                                     "seconds");
            return retry_later(refused, decision->retry_after_seconds);
        }
        return handler(request);
    };
}

} // namespace cdn::api
