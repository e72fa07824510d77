#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "kv/local_channels.h"
#include "kv/redis_connection.h"
#include "core/backoff.h"
#include "kv/redis_health.h"

namespace cdn::kv {

/**
 * The Redis side of this node's subscriptions: one connection in subscribe mode, owned by one
 * thread that SUBSCRIBEs to every channel `channels` has handlers for (names prefixed),
 * UNSUBSCRIBEs from the ones it no longer has, and delivers each message to them. It is also
 * the node's probe of Redis: it PINGs after PING_INTERVAL of silence and drops the connection
 * when no answer comes within the timeout; after any loss it reconnects with a jittered
 * back-off, subscribes to every channel again and only then reports health regained. While
 * health is lost for a failed command, it PINGs (with the same back-off) to regain it.
 * Other threads talk to it through a self-pipe (wake()).
 */
class RedisSubscriber {
public:
    static constexpr std::chrono::milliseconds PING_INTERVAL{1000};

    RedisSubscriber(RedisEndpoint endpoint, std::string prefix, std::chrono::milliseconds timeout,
                    RedisHealth& health, std::shared_ptr<LocalChannels> channels);
    ~RedisSubscriber();
    RedisSubscriber(const RedisSubscriber&) = delete;
    RedisSubscriber& operator=(const RedisSubscriber&) = delete;

    /** The channels or the health changed: the thread looks again. Async-signal-free, short. */
    void wake();
    /** Waits until Redis confirmed the SUBSCRIBE to `channel`, at most `timeout`, and not at
     *  all while health is lost (the subscription is made on reconnection). */
    void wait_subscribed(const std::string& channel, std::chrono::milliseconds timeout);
    std::uint64_t reconnects() const { return reconnects_.load(std::memory_order_relaxed); }

private:
    using Clock = std::chrono::steady_clock;

    void run();
    bool connect();
    void step();
    int poll_timeout_ms() const;
    void on_timeout();
    void read();
    void handle(const redisReply& reply);
    void on_subscribed(const std::string& channel);
    void on_pong();
    core::Result<void> sync_channels();
    void drop(const core::Error& why);
    void pause(std::chrono::milliseconds delay);
    void drain_wake_pipe();

    RedisEndpoint endpoint_;
    std::string prefix_;
    std::chrono::milliseconds timeout_;
    RedisHealth& health_;
    std::shared_ptr<LocalChannels> channels_;
    int wake_fds_[2] = {-1, -1};
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> reconnects_{0};

    // The thread's own state.
    std::unique_ptr<RedisConnection> connection_;
    core::Backoff backoff_{RECONNECT_FIRST, RECONNECT_CAP};
    std::set<std::string> requested_;
    std::map<std::string, int> in_flight_;
    bool awaiting_pong_ = false;
    Clock::time_point pong_deadline_;
    Clock::time_point next_ping_;
    Clock::time_point next_verify_;

    std::mutex mutex_;
    std::condition_variable confirmed_;
    std::set<std::string> subscribed_; // guarded by mutex_

    std::thread thread_; // last: started once everything above exists
};

} // namespace cdn::kv
