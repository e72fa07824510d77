#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/result.h"
#include "kv/client_shares.h"
#include "kv/customer_windows.h"
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
 * windows: a request is allowed iff `current + previous * (1 - elapsed fraction of the current
 * second) < limit_rps`, where the counts are the customer's admitted requests on every node.
 * Wall time (unix seconds) names the windows, because every node must agree on them.
 *
 * Global without a store round trip per request (issue 17): the hit path decides on this node's
 * memory alone and never waits on the store. Each node counts its own admissions exactly, and
 * reconcile() (every RECONCILE_INTERVAL, on the service's timer thread) adds what it admitted since
 * the last pass to the shared counters `ratelimit:{public_key}:{unix_second}` with one increment
 * per customer (all in one batch), whose answer (the global total) tells it the other nodes' count.
 * Between passes it adds what they admit meanwhile at their rate of the last whole second (over the
 * time since the pass, plus an interval: how old their part of the answer may already have been).
 * Why this and not leasing tokens in blocks: a lease must be handed out before it is used, so
 * either the hit path waits for it or a node refuses while its next block is in flight, and blocks
 * sized for a busy node strand capacity on idle ones. Counting after the fact keeps the one-node
 * behaviour exact (the others' count is 0, so every decision and Retry-After is the plain
 * window's), costs one round trip per pass and one counter operation per active customer whatever
 * the request rate, and at steady load errs only by the projection: measured within ±4% of the
 * limit for 2 to 4 nodes (GlobalRateLimitTest). Without the projection the nodes see new room late
 * and all rush into it: 5 to 15% over with 3 or 4 nodes.
 *
 * When the store fails, reconcile() reports it and the limiter is degraded: each node then
 * allows `limit_rps / expected_nodes` on its own counts, until a pass succeeds again.
 *
 * Fair across clients (plans.md): when the customer's demand on this node (attempts, refused
 * ones included) exceeds the limit, each client is held to the max-min fair share of it
 * (ClientShares), so the clients sending the most are refused first and the others are still
 * served: a client asking no more than the share is allowed up to `limit + light_slack()`,
 * one asking more only while its own admitted count is below the share (and the total below
 * the limit). With a single client the share is the limit itself: exactly the plain limit.
 * The share is node-local: a flood through one node competes for the global total with the
 * visitors of another on equal terms (first come, first served), as it did before issue 17.
 */
class RateLimiter {
public:
    /** Counters outlive their second by one more, the longest they are read as `previous`. */
    static constexpr std::chrono::milliseconds COUNTER_TTL{2000};
    /** How often the service calls reconcile(): the staleness of the others' count, and the
     *  store's load (one round trip per pass, carrying one increment per active customer, two
     *  early in a second). */
    static constexpr std::chrono::milliseconds RECONCILE_INTERVAL{50};
    /** Customers whose clients are tracked at once on this node (about 1 KB each at most);
     *  beyond that, a customer is limited by its total alone until tables fall idle. */
    static constexpr std::size_t MAX_TRACKED_CUSTOMERS = 16384;

    /** @param expected_nodes how many nodes share the limit: each allows 1/N of it while the
     *         store is unreachable (`[kv] expected_nodes`); 0 counts as 1. */
    RateLimiter(KvStore& store, const core::Clock& clock,
                std::size_t max_tracked_customers = MAX_TRACKED_CUSTOMERS,
                std::uint32_t expected_nodes = 1)
        : store_(store), clock_(clock), shares_(max_tracked_customers),
          expected_nodes_(std::max<std::uint32_t>(expected_nodes, 1)) {}

    /**
     * Counts the request if it is allowed, on this node's memory alone. A rejected request is
     * not counted against the limit, so a client that keeps retrying does not extend its own
     * block (its attempts do weigh in its fair share).
     * @param client who sent it (http::client_group); 0 when unknown.
     * @return the decision. Never an error now that the store is not asked here; the Result
     *         stays so that callers keep their fail-open path.
     */
    core::Result<RateDecision> check(std::string_view public_key, std::uint64_t limit_rps,
                                     ClientId client = 0);

    /**
     * One reconciliation pass: flushes this node's admissions to the store and reads the other
     * nodes' counts, for every customer seen in the last two seconds, as one batch
     * (KvStore::increment_all: with Redis one pipelined round trip, so an unreachable store
     * costs one timeout per pass, not one per customer). Blocking: call it off the request
     * path, every RECONCILE_INTERVAL. Passes are serialised. A store error is returned and
     * makes the limiter degraded until a pass succeeds.
     */
    core::Result<void> reconcile();

    /** Whether the last pass failed: limits are per node (limit / expected_nodes). */
    bool degraded() const { return degraded_.load(std::memory_order_relaxed); }

    /** How far over the limit requests of clients within their fair share may take the
     *  customer's sliding count: room for the estimates' rounding and the heavy clients' last
     *  admitted request, so light clients are not refused for it. 1 + 5% of the limit. */
    static double light_slack(double limit) { return 1.0 + std::floor(limit / 20.0); }

    /** Requests rejected since start, for /metrics. */
    std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }
    /** Counter operations issued since start (all by reconcile(), in batches), for /metrics. */
    std::uint64_t store_operations() const {
        return store_operations_.load(std::memory_order_relaxed);
    }
    void write_metrics(core::MetricWriter& writer) const;

private:
    RateDecision reject(double limit, SlidingCount count, std::int64_t millis_into_second);
    struct PassEntry;
    PassEntry take_for_pass(std::string_view public_key, std::shared_ptr<CustomerWindow> window,
                            std::int64_t now_ms, std::vector<CounterDelta>& deltas);
    void apply_pass(const std::vector<PassEntry>& entries, const std::vector<std::int64_t>& totals,
                    std::int64_t now_ms);
    void set_degraded(bool degraded, std::string_view why);

    KvStore& store_;
    const core::Clock& clock_;
    ClientShareTables shares_;
    CustomerWindows windows_;
    std::uint32_t expected_nodes_;
    std::mutex reconcile_mutex_;
    std::atomic<bool> degraded_{false};
    std::atomic<std::uint64_t> rejected_{0};
    std::atomic<std::uint64_t> store_operations_{0};
};

/** The counter key of one customer's one-second window. */
std::string rate_limit_key(std::string_view public_key, std::int64_t unix_second);

} // namespace cdn::kv
