#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "kv/kv_store.h"

namespace cdn::kv {

/** The outcome of one rate-limit check. */
struct RateDecision {
    bool allowed = true;
    /** When rejected: how long until a request would be allowed, in (0, 1000 ms]. */
    std::chrono::milliseconds retry_after{0};
};

/**
 * Per-customer requests-per-second limit with a sliding window over two fixed one-second
 * windows (counters `ratelimit:{public_key}:{unix_second}` in the KvStore, so with Redis the
 * limit is global across nodes). A request is allowed iff
 * `current + previous * (1 - elapsed fraction of the current second) < limit_rps`.
 * Wall time (unix seconds) names the windows, because every node must agree on them.
 */
class RateLimiter {
public:
    /** Counters outlive their second by one more, the longest they are read as `previous`. */
    static constexpr std::chrono::milliseconds COUNTER_TTL{2000};

    RateLimiter(KvStore& store, const core::Clock& clock) : store_(store), clock_(clock) {}

    /**
     * Counts the request if it is allowed. A rejected request is not counted, so a client that
     * keeps retrying does not extend its own block.
     * @return the decision, or the store's error (the caller chooses to fail open or closed).
     */
    core::Result<RateDecision> check(std::string_view public_key, std::uint64_t limit_rps);

    /** Requests rejected since start, for /metrics. */
    std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

private:
    RateDecision reject(std::int64_t limit, std::int64_t current, std::int64_t previous,
                        std::int64_t millis_into_second);

    KvStore& store_;
    const core::Clock& clock_;
    std::atomic<std::uint64_t> rejected_{0};
};

/** The counter key of one customer's one-second window. */
std::string rate_limit_key(std::string_view public_key, std::int64_t unix_second);

} // namespace cdn::kv
