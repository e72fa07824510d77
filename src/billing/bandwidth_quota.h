#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "account/plan.h"
#include "core/clock.h"
#include "core/result.h"
#include "db/usage_repository.h"
#include "usage/usage_recorder.h"

namespace cdn::billing {

/** What the edge does with one request of a customer, given the bytes served this month. */
struct QuotaDecision {
    /** False only for an over-quota customer on a "block" plan: answer 402 quota_exceeded. */
    bool allowed = true;
    /** Month-to-date bytes have reached the plan's quota (overage, if allowed). */
    bool over_quota = false;
    std::int64_t used_bytes = 0;
};

/** What BandwidthQuota::look_up() knows without the database. */
struct QuotaLookup {
    /** The fresh decision; when stale (same month), the last one; nullopt when there is none. */
    std::optional<QuotaDecision> decision;
    /** The caller is to run refresh(): before deciding when `decision` is empty, else in the
     *  background (granted to one caller per customer per refresh interval). */
    bool refresh = false;
};

/** The first second (UTC) of the calendar month containing `unix_seconds`. */
std::int64_t month_start(std::int64_t unix_seconds);

/**
 * Month-to-date bandwidth per customer, cached so that the edge's per-request check never
 * waits on the database. A figure is usage_hourly's sum since the start of the month plus this
 * node's unflushed counts, taken by refresh() (blocking) at most every `refresh_interval`, plus
 * the bytes add()ed on this node since. Other nodes' traffic shows up as they flush and this
 * node refreshes, so a customer served by many nodes can overshoot by about
 * nodes x (flush interval + refresh interval) of traffic.
 *
 * Callers record a response in the UsageRecorder *before* add()ing it here: then the one
 * inexactness left (see refresh()) is an overcount of the responses in flight at that
 * instant, never a loss. Thread-safe; every lock is held only for in-memory work.
 */
class BandwidthQuota {
public:
    /** Customers cached at once; past it, stale entries go, and if that is not enough, all. */
    static constexpr std::size_t MAX_ENTRIES = 100'000;

    BandwidthQuota(db::UsageRepository& usage, usage::UsageRecorder& recorder,
                   const core::Clock& clock,
                   std::chrono::seconds refresh_interval = std::chrono::seconds(30),
                   std::size_t max_entries = MAX_ENTRIES);

    /** Non-blocking: the cached decision, or nullopt when the customer is not cached, the
     *  figure is older than the refresh interval or from another month. The caller then
     *  calls refresh() off the I/O thread. */
    std::optional<QuotaDecision> check(std::string_view customer_id,
                                       const account::Plan& plan) const;

    /** Non-blocking, for the hit path: a stale figure still decides while one caller
     *  refreshes it in the background, so a slow or unreachable database never holds a
     *  request of a customer this node has a figure for (stale-while-revalidate). */
    QuotaLookup look_up(std::string_view customer_id, const account::Plan& plan);

    /** Blocking (database): reads the month-to-date figure, caches it and decides. On a
     *  database error the cache is left as it was (it goes stale). */
    core::Result<QuotaDecision> refresh(std::string_view customer_id, const account::Plan& plan);

    /** Non-blocking: counts bytes just served, so that a burst cannot run far past the quota
     *  between refreshes. Ignored for a customer not cached: its next refresh reads them
     *  from the recorder. */
    void add(std::string_view customer_id, std::int64_t bytes);

    /** Database reads made by refresh(), for metrics and tests. */
    std::uint64_t refreshes() const;

private:
    struct Entry {
        std::uint64_t generation = 0; // tells a refresh whether its mark is still this entry's
        std::int64_t month = 0;
        bool has_figure = false; // false while the first refresh is under way
        std::int64_t base = 0;   // database + recorder's pending, at the last refresh
        /** Bytes add()ed this month, ever increasing, and its value when `base` was read:
         *  only the difference is on top of `base`. A counter rather than a reset to 0, so
         *  adds made during a refresh's database read still count after it. */
        std::int64_t added = 0;
        std::int64_t base_mark = 0;
        std::chrono::steady_clock::time_point refreshed_at;
        /** When look_up() last handed out a background refresh of a stale figure. */
        std::chrono::steady_clock::time_point background_since;
    };
    using Entries = std::map<std::string, Entry, std::less<>>;
    /** Where a refresh started: the entry's incarnation and its `added` then. */
    struct Mark {
        std::uint64_t generation = 0;
        std::int64_t added = 0;
    };

    Mark begin_refresh(std::string_view customer_id, std::int64_t month);
    QuotaDecision finish_refresh(std::string_view customer_id, const account::Plan& plan,
                                 std::int64_t month, Mark mark, std::int64_t base);
    Entry& entry_for(std::string_view customer_id, std::int64_t month);
    void make_room();
    bool fresh(const Entry& entry, std::chrono::steady_clock::time_point now) const;

    db::UsageRepository& usage_;
    usage::UsageRecorder& recorder_;
    const core::Clock& clock_;
    const std::chrono::seconds refresh_interval_;
    const std::size_t max_entries_;

    mutable std::mutex mutex_; // guards entries_ and refreshes_; never held over I/O
    Entries entries_;
    std::uint64_t refreshes_ = 0;
    std::uint64_t generations_ = 0;
};

} // namespace cdn::billing
