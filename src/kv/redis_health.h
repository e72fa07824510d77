#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
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

/** Reconnection attempts wait 50 ms doubling to 2 s (core::Backoff): quick after a blip,
 *  gentle on a Redis that is down for a while. */
inline constexpr std::chrono::milliseconds RECONNECT_FIRST{50};
inline constexpr std::chrono::milliseconds RECONNECT_CAP{2000};

} // namespace cdn::kv
