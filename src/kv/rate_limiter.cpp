#include "kv/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cdn::kv {
namespace {

constexpr std::int64_t MILLIS_PER_SECOND = 1000;

// The weight of the previous window `millis_into_second` into the current one.
double previous_weight(std::int64_t millis_into_second) {
    return static_cast<double>(MILLIS_PER_SECOND - millis_into_second) / MILLIS_PER_SECOND;
}

// The first millisecond of a second at which `previous * weight < budget`, or a full second
// when that never happens within it.
std::int64_t first_millis_below(double budget, double previous) {
    if (budget <= 0) {
        return MILLIS_PER_SECOND;
    }
    if (previous < budget) {
        return 0;
    }
    // previous * (1000 - t) / 1000 < budget  <=>  t > 1000 * (1 - budget / previous)
    const double t = MILLIS_PER_SECOND * (1.0 - budget / previous);
    return static_cast<std::int64_t>(std::floor(t)) + 1;
}

} // namespace

std::string rate_limit_key(std::string_view public_key, std::int64_t unix_second) {
    std::string key = "ratelimit:";
    key.append(public_key).append(":").append(std::to_string(unix_second));
    return key;
}

core::Result<RateDecision> RateLimiter::check(std::string_view public_key,
                                              std::uint64_t limit_rps) {
    const std::int64_t now_ms = clock_.unix_millis();
    const std::int64_t second = now_ms / MILLIS_PER_SECOND;
    const std::int64_t into = now_ms % MILLIS_PER_SECOND;

    CDN_TRY(previous, store_.get_counter(rate_limit_key(public_key, second - 1)));
    const std::int64_t prev = previous.value_or(0);

    // Count first, judge after: concurrent checks (on every node, with Redis) each see the
    // others' counts, so together they never admit more than the limit. A rejected request
    // takes its count back.
    const std::string key = rate_limit_key(public_key, second);
    CDN_TRY(counted, store_.increment(key, 1, COUNTER_TTL));
    const std::int64_t before = counted - 1;
    const double estimate =
        static_cast<double>(before) + static_cast<double>(prev) * previous_weight(into);
    if (estimate < static_cast<double>(limit_rps)) {
        return RateDecision{true, std::chrono::milliseconds(0)};
    }
    // If the take-back fails the window stays one too high until it ends: stricter, never
    // looser, so the error is not worth failing the request for.
    (void)store_.increment(key, -1, COUNTER_TTL);
    return reject(static_cast<std::int64_t>(
                      std::min<std::uint64_t>(limit_rps, std::numeric_limits<std::int64_t>::max())),
                  before, prev, into);
}

RateDecision RateLimiter::reject(std::int64_t limit, std::int64_t current, std::int64_t previous,
                                 std::int64_t millis_into_second) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    std::int64_t wait = 0;
    if (current < limit) {
        // Rejected only for the previous window's weight, which fades as this second goes on.
        wait = first_millis_below(static_cast<double>(limit - current),
                                  static_cast<double>(previous)) -
               millis_into_second;
    } else {
        // This second is spent; in the next one its count is the fading previous window.
        wait = (MILLIS_PER_SECOND - millis_into_second) +
               first_millis_below(static_cast<double>(limit), static_cast<double>(current));
    }
    // Clamped: Retry-After is a hint in whole seconds, and one second always changes windows.
    wait = std::clamp<std::int64_t>(wait, 1, MILLIS_PER_SECOND);
    return RateDecision{false, std::chrono::milliseconds(wait)};
}

} // namespace cdn::kv
