#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/result.h"
#include "kv/client_shares.h"
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
 *
 * Fair across clients (plans.md): when the customer's demand on this node (attempts, refused
 * ones included) exceeds the limit, each client is held to the max-min fair share of it
 * (ClientShares), so the clients sending the most are refused first and the others are still
 * served: a client asking no more than the share is allowed up to `limit + light_slack()`,
 * one asking more only while its own admitted count is below the share (and the total below
 * the limit). With a single client the share is the limit itself: exactly the plain limit.
 */
class RateLimiter {
public:
    /** Counters outlive their second by one more, the longest they are read as `previous`. */
    static constexpr std::chrono::milliseconds COUNTER_TTL{2000};
    /** Customers whose clients are tracked at once on this node (about 1 KB each at most);
     *  beyond that, a customer is limited by its total alone until tables fall idle. */
    static constexpr std::size_t MAX_TRACKED_CUSTOMERS = 16384;

    RateLimiter(KvStore& store, const core::Clock& clock,
                std::size_t max_tracked_customers = MAX_TRACKED_CUSTOMERS)
        : store_(store), clock_(clock), shares_(max_tracked_customers) {}

    /**
     * Counts the request if it is allowed. A rejected request is not counted against the
     * limit, so a client that keeps retrying does not extend its own block (its attempts do
     * weigh in its fair share).
     * @param client who sent it (http::client_group); 0 when unknown.
     * @return the decision, or the store's error (the caller chooses to fail open or closed).
     */
    core::Result<RateDecision> check(std::string_view public_key, std::uint64_t limit_rps,
                                     ClientId client = 0);

    /** How far over the limit requests of clients within their fair share may take the
     *  customer's sliding count: room for the estimates' rounding and the heavy clients' last
     *  admitted request, so light clients are not refused for it. 1 + 5% of the limit. */
    static double light_slack(double limit) { return 1.0 + std::floor(limit / 20.0); }

    /** Requests rejected since start, for /metrics. */
    std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }
    void write_metrics(core::MetricWriter& writer) const;

private:
    RateDecision reject(double limit, std::int64_t current, std::int64_t previous,
                        std::int64_t millis_into_second);

    KvStore& store_;
    const core::Clock& clock_;
    ClientShareTables shares_;
    std::atomic<std::uint64_t> rejected_{0};
};

/** The counter key of one customer's one-second window. */
std::string rate_limit_key(std::string_view public_key, std::int64_t unix_second);

} // namespace cdn::kv
