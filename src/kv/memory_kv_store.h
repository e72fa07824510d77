#pragma once

#include <atomic>
#include <deque>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "kv/kv_store.h"
#include "kv/local_channels.h"

namespace cdn::kv {

/** Bounds of the in-process store ([kv] url = ""). */
struct MemoryKvConfig {
    /** Hard cap on live counters, whatever their TTL: when full, the counter that would expire
     *  soonest is evicted. Default 1,000,000 (about 100 MB at worst). */
    std::size_t max_keys = 1'000'000;
    /** Lock stripes; each holds an equal share of max_keys. Default 16. */
    std::size_t shards = 16;
};

/**
 * The embedded KvStore: counters in a sharded map, pub/sub delivered synchronously on the
 * publisher's thread. Counters expire by steady time from the injected clock. Memory stays
 * bounded without a background thread: every access first drops a few expired counters of its
 * shard, every SWEEP_EVERY-th access does the same for the next shard in turn, and a full
 * shard evicts its soonest-expiring counter.
 */
class MemoryKvStore final : public KvStore {
public:
    /** Expired counters dropped per sweep, so no single call pays for a mass expiry. */
    static constexpr std::size_t SWEEP_BATCH = 16;
    /** One access in this many also sweeps another shard (round robin). */
    static constexpr std::uint64_t SWEEP_EVERY = 64;

    explicit MemoryKvStore(const core::Clock& clock, MemoryKvConfig config = {});
    ~MemoryKvStore() override;
    MemoryKvStore(const MemoryKvStore&) = delete;
    MemoryKvStore& operator=(const MemoryKvStore&) = delete;

    core::Result<std::int64_t> increment(std::string_view key, std::int64_t delta,
                                         std::chrono::milliseconds ttl) override;
    core::Result<std::optional<std::int64_t>> get_counter(std::string_view key) override;
    core::Result<void> publish(std::string_view channel, std::string_view message) override;
    Subscription subscribe(std::string channel, MessageHandler handler) override;
    core::Result<std::int64_t> append_log(std::string_view key, std::string_view message,
                                          std::size_t max_entries,
                                          std::chrono::milliseconds ttl) override;
    core::Result<LogTail> read_log(std::string_view key, std::int64_t after_sequence) override;
    core::Result<void> put_value(std::string_view key, std::string_view value,
                                 std::chrono::milliseconds ttl) override;
    core::Result<std::vector<KeyValue>> values_with_prefix(std::string_view prefix) override;
    core::Result<bool> acquire_lease(std::string_view key, std::string_view holder,
                                     std::chrono::milliseconds ttl) override;
    core::Result<bool> renew_lease(std::string_view key, std::string_view holder,
                                   std::chrono::milliseconds ttl) override;
    core::Result<bool> release_lease(std::string_view key, std::string_view holder) override;

    /** Counters held, including expired ones not swept yet; never above max_keys. */
    std::size_t entries() const;

private:
    using TimePoint = std::chrono::steady_clock::time_point;
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    // Soonest expiry first; the view points into the key owned by `counters`.
    using Expiries = std::multimap<TimePoint, std::string_view>;
    struct Counter {
        std::int64_t value = 0;
        Expiries::iterator expiry;
    };
    using Counters = std::unordered_map<std::string, Counter, StringHash, std::equal_to<>>;

    // Cache-line aligned so that two shards' locks never share a line.
    struct alignas(64) Shard {
        mutable std::mutex mutex;
        Counters counters;
        Expiries expiries;
    };

    Shard& shard_for(std::string_view key);
    void amortised_sweep(TimePoint now);
    static void sweep(Shard& shard, TimePoint now, std::size_t limit);
    static void erase(Shard& shard, Counters::iterator it);
    /** The live counter for `key` (dropping it if expired), or end(). Caller holds the lock. */
    static Counters::iterator find_live(Shard& shard, std::string_view key, TimePoint now);
    void make_room(Shard& shard, TimePoint now) const;

    struct Log {
        std::deque<LogEntry> entries;
        std::int64_t last_sequence = 0;
        TimePoint entries_expiry;
        TimePoint expiry; // of the sequence counter, later
    };
    /** Drops the expired logs (there are a few: one per purpose, not per customer). */
    void drop_expired_logs(TimePoint now);

    /** Values and leases: few (node announcements, leases of misses in progress). */
    struct Value {
        std::string value;
        TimePoint expiry;
    };
    using Values = std::map<std::string, Value, std::less<>>;
    /** The live value of `key` (dropping it if expired), or end(). Caller holds values_mutex_. */
    Values::iterator find_live_value(std::string_view key, TimePoint now);
    /** The live lease `key` if `holder` holds it, or end(). Caller holds values_mutex_. */
    Values::iterator find_held(std::string_view key, std::string_view holder, TimePoint now);
    /** Drops the expired values once the map has doubled since the last sweep. */
    void sweep_values(TimePoint now);

    const core::Clock& clock_;
    std::mutex values_mutex_;
    Values values_;                 // guarded by values_mutex_
    std::size_t next_value_sweep_ = 64; // guarded by values_mutex_
    std::mutex logs_mutex_;
    std::map<std::string, Log, std::less<>> logs_; // guarded by logs_mutex_
    std::size_t shard_count_;
    std::size_t shard_capacity_;
    std::unique_ptr<Shard[]> shards_;
    std::atomic<std::uint64_t> accesses_{0};
    std::shared_ptr<LocalChannels> channels_;
};

} // namespace cdn::kv
