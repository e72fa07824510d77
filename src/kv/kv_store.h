#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"

namespace cdn::kv {

/**
 * A live subscription. Move-only; unsubscribes when destroyed or reset, and once that has
 * returned its handler never runs again (a call already running on another thread is waited
 * for), so a handler may safely capture the object that owns the Subscription.
 */
class Subscription {
public:
    Subscription() = default;
    /** @param cancel called exactly once, on destruction or reset(). */
    explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription();

    /** Unsubscribes now; a no-op when already done. */
    void reset();
    bool active() const { return static_cast<bool>(cancel_); }

private:
    std::function<void()> cancel_;
};

/** One counter change of KvStore::increment_all(). */
struct CounterDelta {
    std::string key;
    std::int64_t delta = 0;
    /** How long the counter lives if this creates it; must be positive. */
    std::chrono::milliseconds ttl{0};
};

/** How many times a log's TTL its sequence counter lives (KvStore::append_log). */
inline constexpr int LOG_SEQUENCE_LIFETIME = 100;

/** One entry of a KvStore log: its sequence number (1, 2, ... per log) and its message. */
struct LogEntry {
    std::int64_t sequence = 0;
    std::string message;
};

/** What KvStore::read_log() found after a given sequence number. */
struct LogTail {
    /** The entries still kept after that number, oldest first. */
    std::vector<LogEntry> entries;
    /** The newest sequence number the log has handed out (0 when it does not exist). */
    std::int64_t last_sequence = 0;
    /** False when entries after that number were trimmed or expired (or the log was lost and
     *  restarted): the caller cannot know what it missed. */
    bool complete = true;
};

/** One live value of KvStore::values_with_prefix(): its key (without the store's prefix). */
struct KeyValue {
    std::string key;
    std::string value;
};

/** Receives one pub/sub message. Runs on a thread of the store's choosing: keep it short. */
using MessageHandler = std::function<void(std::string_view)>;

/**
 * The seed's key-value service: expiring counters (rate limits) and pub/sub (config and purge
 * invalidation). One interface, two backends: MemoryKvStore for one process (the embedded
 * default) and Redis for a fleet, where counters and messages are shared by every node.
 * Implementations are thread-safe. Errors (an unreachable Redis) are Errc::Unavailable.
 */
class KvStore {
public:
    virtual ~KvStore();

    /**
     * Adds `delta` to the counter `key`, creating it with a time to live; returns the new
     * value. The time to live is set only when the counter is created (Redis INCRBY, then
     * PEXPIRE on a new key), so a busy counter still expires on schedule.
     * @param ttl how long a new counter lives; must be positive.
     */
    virtual core::Result<std::int64_t> increment(std::string_view key, std::int64_t delta,
                                                 std::chrono::milliseconds ttl) = 0;

    /** The counter's value, or nullopt when it does not exist or has expired. */
    virtual core::Result<std::optional<std::int64_t>> get_counter(std::string_view key) = 0;

    /** Pub/sub: publish a message on a channel; subscribers on every node receive it
     *  (in-process: this process). Delivery is at most once: a node that is not subscribed at
     *  that moment never sees the message. */
    virtual core::Result<void> publish(std::string_view channel, std::string_view message) = 0;

    /** Calls `handler` with every message later published on `channel`, until the returned
     *  Subscription is destroyed. */
    virtual Subscription subscribe(std::string channel, MessageHandler handler) = 0;

    /** increment() of each delta, in order, as one batch (Redis: one pipelined round trip);
     *  the new values in the same order. The first error stops the batch and is returned:
     *  deltas before it may have been applied. */
    virtual core::Result<std::vector<std::int64_t>> increment_all(
        const std::vector<CounterDelta>& deltas);

    /**
     * Appends `message` to the log `key`, a short record of recent messages for nodes that
     * missed them on pub/sub; returns its sequence number. The log keeps the newest
     * `max_entries` and expires `ttl` after the last append; its sequence counter lives
     * LOG_SEQUENCE_LIFETIME times longer, so that a reader can still tell an expired log from
     * one that had nothing new (and numbers do not restart under a reader's feet).
     */
    virtual core::Result<std::int64_t> append_log(std::string_view key, std::string_view message,
                                                  std::size_t max_entries,
                                                  std::chrono::milliseconds ttl) = 0;

    /** The entries of the log `key` with a sequence number above `after_sequence`. */
    virtual core::Result<LogTail> read_log(std::string_view key,
                                           std::int64_t after_sequence) = 0;

    /** Sets `key` to `value`, living `ttl` (positive); replaces any value and TTL it had. */
    virtual core::Result<void> put_value(std::string_view key, std::string_view value,
                                         std::chrono::milliseconds ttl) = 0;

    /** The live values whose keys start with `prefix`, in no particular order. Meant for a
     *  few hundred keys (the announcements of a cluster's nodes): Redis walks them with SCAN. */
    virtual core::Result<std::vector<KeyValue>> values_with_prefix(std::string_view prefix) = 0;

    /**
     * Leases: a short exclusive hold on `key` (one transform of a variant in the whole cluster).
     * acquire_lease() takes it for `holder` when nobody holds it (Redis `SET NX PX`): true when
     * taken. The holder renews it while its work runs and releases it after; a holder that dies
     * loses it when `ttl` (positive) has passed without a renewal.
     */
    virtual core::Result<bool> acquire_lease(std::string_view key, std::string_view holder,
                                             std::chrono::milliseconds ttl) = 0;
    /** Gives the lease `ttl` more if `holder` still holds it; false when it does not (it
     *  expired, and perhaps another holder took it). */
    virtual core::Result<bool> renew_lease(std::string_view key, std::string_view holder,
                                           std::chrono::milliseconds ttl) = 0;
    /** Deletes the lease if `holder` holds it (compare-and-delete, so a holder whose lease
     *  expired never drops its successor's); false when it does not. */
    virtual core::Result<bool> release_lease(std::string_view key, std::string_view holder) = 0;

    /** Whether the backend answers, as far as this node knows. Redis: false from a failed
     *  command or a lost subscriber connection until the store has reconnected and subscribed
     *  again. The in-process store is always available. */
    virtual bool available() const { return true; }

    /** Adds `listener`, called with false once when the backend is lost and with true once it
     *  is back with every subscription live again: messages published in between were lost,
     *  so whatever they would have invalidated must be dropped. Runs on a thread of the
     *  store's choosing; the in-process store never calls it. Listeners live as long as the
     *  store: register only what outlives it. */
    virtual void on_availability_change(std::function<void(bool available)> listener) {
        (void)listener;
    }

    /** The store's own metric families (imagecdn_kv_up and the backend's counters). */
    virtual void write_metrics(core::MetricWriter& writer) const;
};

/** The LogTail of a log holding `kept` (oldest first) whose newest number is `last_sequence`,
 *  as seen by a reader that has everything up to `after_sequence`: what backends return. */
LogTail tail_after(std::vector<LogEntry> kept, std::int64_t last_sequence,
                   std::int64_t after_sequence);

using KvStorePtr = std::unique_ptr<KvStore>;

} // namespace cdn::kv
