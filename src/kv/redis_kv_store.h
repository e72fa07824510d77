#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "kv/kv_store.h"
#include "kv/local_channels.h"
#include "kv/redis_health.h"
#include "kv/redis_pool.h"
#include "kv/redis_subscriber.h"
#include "kv/redis_url.h"

namespace cdn::kv {

/** `[kv]` on Redis. */
struct RedisKvConfig {
    RedisEndpoint endpoint;
    /** Starts every key and channel name, so one Redis can serve several deployments. */
    std::string prefix = "imagecdn:";
    /** Bounds each wait of a command: a free connection, a connect, a write, a read. */
    std::chrono::milliseconds timeout{200};
    /** Command connections at most (opened on demand). */
    std::size_t pool_size = 4;
};

/**
 * The KvStore of a fleet: counters and pub/sub on one Redis shared by every node.
 *
 * - increment() is one Lua script (INCRBY, then PEXPIRE when the key has no TTL yet: atomic, so
 *   a counter never lives without one), sent as EVALSHA of the script loaded at open and as
 *   EVAL when Redis answers NOSCRIPT (a restart or SCRIPT FLUSH emptied its cache).
 *   increment_all() pipelines the scripts: one round trip for the batch.
 * - Every key and channel is `prefix` + the name the caller gives.
 * - Every wait is bounded by `timeout` (RedisPool). A failed command marks Redis lost
 *   (RedisHealth); while lost, commands fail at once with Errc::Unavailable, and the subscriber
 *   thread (RedisSubscriber) reconnects with a jittered back-off, subscribes again and marks it
 *   regained, which the listeners of on_availability_change() hear.
 * - Messages are delivered on the subscriber thread, the node's own included (they come back
 *   from Redis), at most once.
 */
class RedisKvStore final : public KvStore {
public:
    /** Connects, retrying with a jittered back-off until `connect_timeout` has passed (nodes
     *  often start with their Redis; 0 waits for ever), loads the script and starts the
     *  subscriber. Errors: Errc::Unavailable naming the server (never the password). */
    static core::Result<std::unique_ptr<RedisKvStore>>
    open(RedisKvConfig config, std::chrono::milliseconds connect_timeout);
    ~RedisKvStore() override;
    RedisKvStore(const RedisKvStore&) = delete;
    RedisKvStore& operator=(const RedisKvStore&) = delete;

    core::Result<std::int64_t> increment(std::string_view key, std::int64_t delta,
                                         std::chrono::milliseconds ttl) override;
    core::Result<std::vector<std::int64_t>> increment_all(
        const std::vector<CounterDelta>& deltas) override;
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
    bool available() const override { return health_.up(); }
    void on_availability_change(std::function<void(bool available)> listener) override;
    void write_metrics(core::MetricWriter& writer) const override;

    /** Commands sent since start (a pipeline counts each of its commands). */
    std::uint64_t commands() const { return commands_.load(std::memory_order_relaxed); }

private:
    RedisKvStore(RedisKvConfig config, std::string script_sha);

    /** Runs the commands as one pipeline, or fails at once while Redis is lost. */
    core::Result<std::vector<ReplyPtr>> execute(const std::vector<Command>& commands);
    core::Result<std::vector<ReplyPtr>> run_scripts(const std::vector<CounterDelta>& deltas);
    core::Error failed(core::Error error);
    /** Runs a lease script (compare, then act) on `key`: whether it acted. */
    core::Result<bool> run_lease_script(std::string_view script, std::string_view key,
                                        std::string_view holder, std::string_view extra);

    RedisKvConfig config_;
    std::string script_sha_;
    RedisHealth health_;
    RedisPool pool_;
    std::shared_ptr<LocalChannels> channels_;
    std::atomic<std::uint64_t> commands_{0};
    std::atomic<std::uint64_t> errors_{0};
    std::unique_ptr<RedisSubscriber> subscriber_; // last: its thread uses everything above
};

} // namespace cdn::kv
