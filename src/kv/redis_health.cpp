#include "kv/redis_health.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace cdn::kv {

void RedisHealth::lost(const core::Error& why) {
    const std::lock_guard lock(mutex_);
    if (!up()) {
        return;
    }
    spdlog::warn("kv: redis {} unreachable ({}: {}); serving degraded: per-node limits, short "
                 "config cache TTL",
                 server_, why.message, why.detail);
    change(false);
}

void RedisHealth::regained() {
    const std::lock_guard lock(mutex_);
    if (up()) {
        return;
    }
    spdlog::info("kv: redis {} reachable again; subscriptions restored", server_);
    change(true);
}

void RedisHealth::change(bool up) {
    up_.store(up, std::memory_order_release);
    for (const auto& listener : listeners_) {
        listener(up);
    }
}

void RedisHealth::add_listener(std::function<void(bool)> listener) {
    const std::lock_guard lock(mutex_);
    listeners_.push_back(std::move(listener));
}

} // namespace cdn::kv
