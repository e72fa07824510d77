#include "kv/memory_kv_store.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "fake_clock.h"

namespace cdn::kv {
namespace {

using namespace std::chrono_literals;
using cdn::test::FakeClock;

class MemoryKvStoreTest : public ::testing::Test {
protected:
    std::optional<std::int64_t> counter(MemoryKvStore& store, std::string_view key) {
        auto value = store.get_counter(key);
        EXPECT_TRUE(value);
        return value ? *value : std::nullopt;
    }

    FakeClock clock_;
    MemoryKvStore store_{clock_};
};

TEST_F(MemoryKvStoreTest, IncrementCreatesThenAdds) {
    EXPECT_EQ(store_.increment("k", 3, 1s).value(), 3);
    EXPECT_EQ(store_.increment("k", 4, 1s).value(), 7);
    EXPECT_EQ(store_.increment("k", -2, 1s).value(), 5);
    EXPECT_EQ(counter(store_, "k"), 5);
}

TEST_F(MemoryKvStoreTest, MissingCounterIsNullopt) {
    EXPECT_EQ(counter(store_, "absent"), std::nullopt);
}

TEST_F(MemoryKvStoreTest, CounterExpiresAfterItsTtl) {
    ASSERT_TRUE(store_.increment("k", 1, 2000ms));
    clock_.advance(1999ms);
    EXPECT_EQ(counter(store_, "k"), 1);
    clock_.advance(1ms);
    EXPECT_EQ(counter(store_, "k"), std::nullopt);
    EXPECT_EQ(store_.increment("k", 5, 1s).value(), 5) << "an expired counter starts afresh";
}

TEST_F(MemoryKvStoreTest, IncrementDoesNotExtendTheTtl) {
    ASSERT_TRUE(store_.increment("k", 1, 1000ms));
    clock_.advance(900ms);
    ASSERT_TRUE(store_.increment("k", 1, 1000ms));
    clock_.advance(100ms);
    EXPECT_EQ(counter(store_, "k"), std::nullopt);
}

TEST_F(MemoryKvStoreTest, RejectsNonPositiveTtl) {
    EXPECT_FALSE(store_.increment("k", 1, 0ms));
    EXPECT_FALSE(store_.increment("k", 1, -5ms));
    EXPECT_EQ(counter(store_, "k"), std::nullopt);
}

TEST_F(MemoryKvStoreTest, OverflowIsAnErrorAndKeepsTheValue) {
    ASSERT_TRUE(store_.increment("k", INT64_MAX, 1s));
    EXPECT_FALSE(store_.increment("k", 1, 1s));
    EXPECT_EQ(counter(store_, "k"), INT64_MAX);
}

TEST(MemoryKvStoreCap, FullStoreEvictsTheSoonestExpiring) {
    FakeClock clock;
    MemoryKvStore store(clock, MemoryKvConfig{.max_keys = 3, .shards = 1});
    ASSERT_TRUE(store.increment("long", 1, 10s));
    ASSERT_TRUE(store.increment("soon", 1, 1s));
    ASSERT_TRUE(store.increment("mid", 1, 5s));
    ASSERT_TRUE(store.increment("new", 1, 7s));
    EXPECT_EQ(store.entries(), 3U);
    EXPECT_EQ(store.get_counter("soon").value(), std::nullopt);
    EXPECT_EQ(store.get_counter("long").value(), 1);
    EXPECT_EQ(store.get_counter("mid").value(), 1);
    EXPECT_EQ(store.get_counter("new").value(), 1);
}

TEST(MemoryKvStoreCap, NeverHoldsMoreThanMaxKeys) {
    FakeClock clock;
    MemoryKvStore store(clock, MemoryKvConfig{.max_keys = 64, .shards = 4});
    for (int i = 0; i < 10'000; ++i) {
        ASSERT_TRUE(store.increment("key-" + std::to_string(i), 1, 60s));
    }
    EXPECT_EQ(store.entries(), 64U) << "every shard is full, none above its share";
}

TEST(MemoryKvStoreSweep, AccessDropsExpiredCountersOfItsShard) {
    FakeClock clock;
    MemoryKvStore store(clock, MemoryKvConfig{.max_keys = 1000, .shards = 1});
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(store.increment("old-" + std::to_string(i), 1, 1s));
    }
    clock.advance(2s);
    ASSERT_TRUE(store.get_counter("other"));
    EXPECT_EQ(store.entries(), 0U);
}

TEST(MemoryKvStoreSweep, PeriodicSweepReachesShardsNobodyTouches) {
    FakeClock clock;
    const MemoryKvConfig config{.max_keys = 100'000, .shards = 4};
    MemoryKvStore store(clock, config);
    for (int i = 0; i < 40; ++i) {
        ASSERT_TRUE(store.increment("old-" + std::to_string(i), 1, 1s));
    }
    clock.advance(2s);
    ASSERT_TRUE(store.increment("hot", 1, 60s));
    // Enough accesses to one key for every shard to be swept several times over.
    for (std::uint64_t i = 0; i < MemoryKvStore::SWEEP_EVERY * config.shards * 4; ++i) {
        ASSERT_TRUE(store.get_counter("hot"));
    }
    EXPECT_EQ(store.entries(), 1U);
}

TEST_F(MemoryKvStoreTest, ConcurrentIncrementsLoseNoCounts) {
    constexpr int THREADS = 8;
    constexpr int PER_THREAD = 20'000;
    std::vector<std::thread> threads;
    for (int t = 0; t < THREADS; ++t) {
        threads.emplace_back([this] {
            for (int i = 0; i < PER_THREAD; ++i) {
                ASSERT_TRUE(store_.increment("shared", 1, 60s));
                ASSERT_TRUE(store_.increment("own-" + std::to_string(i % 100), 1, 60s));
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(counter(store_, "shared"), THREADS * PER_THREAD);
}

TEST_F(MemoryKvStoreTest, PublishReachesEverySubscriberOfTheChannel) {
    std::vector<std::string> first;
    std::vector<std::string> second;
    std::vector<std::string> other;
    auto a = store_.subscribe("purge", [&](std::string_view m) { first.emplace_back(m); });
    auto b = store_.subscribe("purge", [&](std::string_view m) { second.emplace_back(m); });
    auto c = store_.subscribe("config", [&](std::string_view m) { other.emplace_back(m); });
    ASSERT_TRUE(store_.publish("purge", "pk_1:/a.png"));
    EXPECT_EQ(first, std::vector<std::string>{"pk_1:/a.png"});
    EXPECT_EQ(second, std::vector<std::string>{"pk_1:/a.png"});
    EXPECT_TRUE(other.empty());
}

TEST_F(MemoryKvStoreTest, PublishWithoutSubscribersSucceeds) {
    EXPECT_TRUE(store_.publish("none", "x"));
}

TEST_F(MemoryKvStoreTest, DestroyingTheSubscriptionUnsubscribes) {
    int received = 0;
    {
        auto subscription = store_.subscribe("ch", [&](std::string_view) { ++received; });
        ASSERT_TRUE(store_.publish("ch", "one"));
        EXPECT_TRUE(subscription.active());
    }
    ASSERT_TRUE(store_.publish("ch", "two"));
    EXPECT_EQ(received, 1);
}

TEST_F(MemoryKvStoreTest, MovedSubscriptionStaysSubscribedUntilReset) {
    int received = 0;
    Subscription kept;
    {
        auto subscription = store_.subscribe("ch", [&](std::string_view) { ++received; });
        kept = std::move(subscription);
    }
    ASSERT_TRUE(store_.publish("ch", "one"));
    kept.reset();
    EXPECT_FALSE(kept.active());
    ASSERT_TRUE(store_.publish("ch", "two"));
    EXPECT_EQ(received, 1);
}

TEST_F(MemoryKvStoreTest, HandlerMayUnsubscribeItself) {
    int received = 0;
    Subscription subscription;
    subscription = store_.subscribe("ch", [&](std::string_view) {
        ++received;
        subscription.reset();
    });
    ASSERT_TRUE(store_.publish("ch", "one"));
    ASSERT_TRUE(store_.publish("ch", "two"));
    EXPECT_EQ(received, 1);
}

TEST(MemoryKvStoreLifetime, SubscriptionMayOutliveTheStore) {
    FakeClock clock;
    Subscription subscription;
    {
        MemoryKvStore store(clock);
        subscription = store.subscribe("ch", [](std::string_view) {});
    }
    subscription.reset(); // must not touch the destroyed store
    EXPECT_FALSE(subscription.active());
}

} // namespace
} // namespace cdn::kv
