#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "core/result.h"

namespace cdn::kv {

/**
 * Whether Redis answers, as one node sees it: lost by any failed command or by the subscriber
 * connection, regained only by the subscriber once it is connected and subscribed again. Each
 * change is logged once and told to the listeners, in order (a mutex serialises changes).
 */
class RedisHealth {
public:
    explicit RedisHealth(std::string server) : server_(std::move(server)) {}

    bool up() const { return up_.load(std::memory_order_acquire); }
    /** Up → down: one warning naming the server and `why`; listeners get false. */
    void lost(const core::Error& why);
    /** Down → up: one info line; listeners get true. */
    void regained();
    void add_listener(std::function<void(bool)> listener);

private:
    void change(bool up);

    std::string server_;
    std::atomic<bool> up_{true};
    std::mutex mutex_;
    std::vector<std::function<void(bool)>> listeners_; // guarded by mutex_
};

/** Delays between reconnection attempts: 50 ms doubling to 2 s, each drawn from [½, 1] of
 *  that ("equal jitter"), so nodes that lost Redis together do not all come back at once. */
class Backoff {
public:
    std::chrono::milliseconds next();
    void reset() { attempt_ = 0; }

private:
    int attempt_ = 0;
    std::minstd_rand random_{std::random_device{}()};
};

} // namespace cdn::kv
