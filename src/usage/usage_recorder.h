#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/result.h"
#include "db/database.h"
#include "db/usage_repository.h"

namespace cdn::usage {

/** One served request, as metering sees it. */
struct UsageEvent {
    std::string_view customer_id;
    std::uint64_t bytes_out = 0;
    /** The response ran the transform pipeline (a miss that transformed). */
    bool transform = false;
    bool cache_hit = false;
    /** The response was an error (4xx/5xx). */
    bool error = false;
};

/**
 * Meters requests without touching the database on the request path: record() adds to
 * in-memory counters per (customer, hour) under a short lock, and flush() writes all of them to
 * usage_hourly in one transaction, every flush interval from a background thread and once
 * more at stop(). A failed flush keeps its counts for the next one, so a database outage
 * delays usage but loses none; a crash loses at most one interval (operations.md).
 *
 * Pending counts are bounded by customers x hours with traffic since the last successful
 * flush: one entry each, however many requests.
 */
class UsageRecorder {
public:
    /** @param flush_interval [usage] flush_interval_ms, time between background flushes. */
    UsageRecorder(db::Database& db, const core::Clock& clock,
                  std::chrono::milliseconds flush_interval);
    /** Stops (with a final flush) if still running. */
    ~UsageRecorder();
    UsageRecorder(const UsageRecorder&) = delete;
    UsageRecorder& operator=(const UsageRecorder&) = delete;

    /** Counts one request in the current hour. Never blocks on I/O. */
    void record(const UsageEvent& event);

    /** Writes every pending count in one batch. On failure nothing is written and the counts
     *  are kept (merged with those recorded meanwhile) for the next flush. */
    core::Result<void> flush();

    /** Starts the background thread that flushes every interval. Call at most once. */
    void start();
    /** Stops the background thread, then flushes once more: a clean shutdown loses no counts
     *  (unless that last flush fails, which is logged). Idempotent. */
    void stop();

    /** Time since the last successful flush (or construction), for /metrics. */
    std::chrono::milliseconds flush_lag() const;
    /** Events recorded and not yet written. */
    std::uint64_t pending_events() const;
    void write_metrics(core::MetricWriter& writer) const;

    /**
     * Bytes out recorded for `customer_id` in hours >= `from_hour` and not yet in usage_hourly:
     * pending counts plus the batch a flush is writing right now. Never blocks on I/O.
     *
     * A batch stays counted here until its transaction has committed (or, if it fails, goes
     * back to pending under the same lock that stops it being in flight), so there is no
     * moment when flushed bytes are in neither place. Read this *before* the database: then
     * this + the database's sum never misses a byte this node recorded. The price is the
     * other direction: a flush that commits between the two reads is counted twice, until
     * the next read. Other nodes' pending counts are not included.
     */
    std::int64_t pending_bytes(std::string_view customer_id, std::int64_t from_hour) const;

private:
    using Key = std::pair<std::string, std::int64_t>; // customer id, hour start
    using KeyView = std::pair<std::string_view, std::int64_t>;
    struct KeyLess {
        using is_transparent = void;
        static KeyView view(const Key& k) { return {k.first, k.second}; }
        static KeyView view(const KeyView& k) { return k; }
        template <class A, class B> bool operator()(const A& a, const B& b) const {
            return view(a) < view(b);
        }
    };
    struct Counts {
        std::int64_t requests = 0;
        std::int64_t bytes_out = 0;
        std::int64_t transforms = 0;
        std::int64_t cache_hits = 0;
        std::int64_t errors = 0;
    };
    using Pending = std::map<Key, Counts, KeyLess>;

    /** Moves `pending_` into `in_flight_`; returns its event count. */
    std::uint64_t take_pending();
    /** Ends the flush of `in_flight_`: dropped if written, else merged back into `pending_`. */
    void settle(bool written, std::uint64_t events);
    std::vector<db::UsageDelta> in_flight_deltas() const;
    static std::int64_t bytes_from(const Pending& counts, std::string_view customer_id,
                                   std::int64_t from_hour);
    void run_flusher();

    db::Database& db_;
    const core::Clock& clock_;
    const std::chrono::milliseconds flush_interval_;

    // Guards pending_, pending_events_ and writes to in_flight_; held only in memory.
    mutable std::mutex mutex_;
    Pending pending_;
    std::uint64_t pending_events_ = 0;
    // The batch being flushed. Written only by the flush holding flush_mutex_ (and mutex_),
    // so that flush may read it without mutex_; pending_bytes() reads it under mutex_.
    Pending in_flight_;

    std::mutex flush_mutex_; // one flush at a time: in_flight_ holds a single batch
    std::atomic<std::chrono::steady_clock::rep> last_flush_;

    std::mutex thread_mutex_; // guards stopping_ for the flusher's wait
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread flusher_;
};

} // namespace cdn::usage
