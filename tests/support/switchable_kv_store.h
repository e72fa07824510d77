#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "kv/memory_kv_store.h"

namespace cdn::test {

/** The in-process KvStore, which can be made to fail (Errc::Unavailable) as an unreachable
 *  Redis does, and counts the counter operations asked of it. Several limiters sharing one
 *  stand for nodes sharing Redis. */
class SwitchableKvStore final : public kv::KvStore {
public:
    explicit SwitchableKvStore(const core::Clock& clock) : store_(clock) {}

    core::Result<std::int64_t> increment(std::string_view key, std::int64_t delta,
                                         std::chrono::milliseconds ttl) override {
        ++operations;
        if (down) {
            return unavailable();
        }
        return store_.increment(key, delta, ttl);
    }
    core::Result<std::optional<std::int64_t>> get_counter(std::string_view key) override {
        ++operations;
        if (down) {
            return unavailable();
        }
        return store_.get_counter(key);
    }
    core::Result<void> publish(std::string_view channel, std::string_view message) override {
        if (down) {
            return unavailable();
        }
        return store_.publish(channel, message);
    }
    kv::Subscription subscribe(std::string channel, kv::MessageHandler handler) override {
        return store_.subscribe(std::move(channel), std::move(handler));
    }
    core::Result<std::int64_t> append_log(std::string_view key, std::string_view message,
                                          std::size_t max_entries,
                                          std::chrono::milliseconds ttl) override {
        if (down) {
            return unavailable();
        }
        return store_.append_log(key, message, max_entries, ttl);
    }
    core::Result<kv::LogTail> read_log(std::string_view key, std::int64_t after) override {
        if (down) {
            return unavailable();
        }
        return store_.read_log(key, after);
    }
    core::Result<void> put_value(std::string_view key, std::string_view value,
                                 std::chrono::milliseconds ttl) override {
        if (down) {
            return unavailable();
        }
        return store_.put_value(key, value, ttl);
    }
    core::Result<std::vector<kv::KeyValue>> values_with_prefix(std::string_view prefix) override {
        if (down) {
            return unavailable();
        }
        return store_.values_with_prefix(prefix);
    }
    core::Result<bool> acquire_lease(std::string_view key, std::string_view holder,
                                     std::chrono::milliseconds ttl) override {
        if (down) {
            return unavailable();
        }
        return store_.acquire_lease(key, holder, ttl);
    }
    core::Result<bool> renew_lease(std::string_view key, std::string_view holder,
                                   std::chrono::milliseconds ttl) override {
        if (down) {
            return unavailable();
        }
        return store_.renew_lease(key, holder, ttl);
    }
    core::Result<bool> release_lease(std::string_view key, std::string_view holder) override {
        if (down) {
            return unavailable();
        }
        return store_.release_lease(key, holder);
    }

    std::atomic<bool> down{false};
    std::atomic<std::int64_t> operations{0};

private:
    static core::Error unavailable() {
        return core::make_error(core::Errc::Unavailable, "kv down");
    }
    kv::MemoryKvStore store_;
};

} // namespace cdn::test
