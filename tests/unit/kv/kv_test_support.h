#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fake_clock.h"
#include "kv/memory_kv_store.h"
#include "kv/redis_kv_store.h"
#include "poll_until.h"
#include "redis_process.h"

namespace cdn::kv::testing {

/** Messages a handler received, from whatever thread the store delivers on. */
class Inbox {
public:
    MessageHandler handler() {
        return [this](std::string_view message) { add(message); };
    }
    void add(std::string_view message) {
        const std::lock_guard lock(mutex_);
        messages_.emplace_back(message);
    }
    std::vector<std::string> messages() const {
        const std::lock_guard lock(mutex_);
        return messages_;
    }
    std::size_t size() const { return messages().size(); }
    /** Polls until `count` messages arrived (5 s at most). */
    bool wait_for(std::size_t count) const {
        return test::poll_until([&] { return size() >= count; });
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> messages_;
};

/** A key prefix no other test of this binary uses, so tests may share one redis-server. */
inline std::string unique_prefix() {
    static std::atomic<int> counter{0};
    return "t" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ":";
}

/** A RedisKvStore on `server`; a failure fails the test. */
inline std::unique_ptr<RedisKvStore> open_redis(const test::RedisProcess& server,
                                                std::string prefix = unique_prefix(),
                                                std::chrono::milliseconds timeout =
                                                    std::chrono::milliseconds(1000)) {
    auto endpoint = parse_redis_url(server.url());
    EXPECT_TRUE(endpoint);
    auto opened = RedisKvStore::open(
        {.endpoint = *endpoint, .prefix = std::move(prefix), .timeout = timeout},
        std::chrono::seconds(5));
    if (!opened) {
        ADD_FAILURE() << opened.error().message << " (" << opened.error().detail << ")";
        return nullptr;
    }
    return std::move(*opened);
}

enum class Backend { Memory, Redis };

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
    return info.param == Backend::Memory ? "memory" : "redis";
}

inline void PrintTo(Backend backend, std::ostream* out) {
    *out << (backend == Backend::Memory ? "memory" : "redis");
}

/** A fresh store of the backend the test is instantiated for: the in-process store on a
 *  FakeClock, or Redis (the test binary's redis-server, keys under a prefix of the test's). */
class KvStoreTest : public ::testing::TestWithParam<Backend> {
protected:
    void SetUp() override {
        store_ = make_store();
        ASSERT_NE(store_, nullptr);
    }

    std::unique_ptr<KvStore> make_store() {
        if (GetParam() == Backend::Memory) {
            return std::make_unique<MemoryKvStore>(clock_);
        }
        return open_redis(test::RedisProcess::shared(), prefix_);
    }

    /** Lets `duration` pass for the counters' TTLs: the fake clock in-process; on Redis the
     *  real one, which its TTLs run on (the one wait poll_until.h allows for). */
    void let_pass(std::chrono::milliseconds duration) {
        if (GetParam() == Backend::Memory) {
            clock_.advance(duration);
        } else {
            // Redis expires a key strictly after its TTL, on a millisecond clock: a little more.
            std::this_thread::sleep_for(duration + std::chrono::milliseconds(20));
        }
    }

    std::optional<std::int64_t> counter(std::string_view key) {
        auto value = store_->get_counter(key);
        EXPECT_TRUE(value);
        return value ? *value : std::nullopt;
    }

    /** Returns once every message published before it has been delivered: a marker published
     *  last on a channel of its own arrives after them (Redis keeps one connection's order). */
    void settle() {
        Inbox marker;
        auto subscription = store_->subscribe("settle", marker.handler());
        ASSERT_TRUE(store_->publish("settle", "marker"));
        ASSERT_TRUE(marker.wait_for(1)) << "the marker message never arrived";
    }

    test::FakeClock clock_;
    std::string prefix_ = unique_prefix();
    std::unique_ptr<KvStore> store_;
};

} // namespace cdn::kv::testing

/** Runs every TEST_P of `Fixture` (a KvStoreTest) on the in-process store and on Redis. */
#define CDN_ON_EVERY_KV_BACKEND(Fixture)                                                           \
    INSTANTIATE_TEST_SUITE_P(                                                                      \
        Backends, Fixture,                                                                         \
        ::testing::Values(::cdn::kv::testing::Backend::Memory,                                     \
                          ::cdn::kv::testing::Backend::Redis),                                     \
        ::cdn::kv::testing::backend_name)
