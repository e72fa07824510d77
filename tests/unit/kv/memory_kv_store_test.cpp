#include "kv/memory_kv_store.h"

#include <gtest/gtest.h>

// What only the in-process store does: exact expiry on its injected clock, the key cap and the
// sweeps. What every backend does is the contract suite (kv_store_contract_test.cpp).

#include <string>
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

TEST_F(MemoryKvStoreTest, CounterExpiresAfterItsTtl) {
    ASSERT_TRUE(store_.increment("k", 1, 2000ms));
    clock_.advance(1999ms);
    EXPECT_EQ(counter(store_, "k"), 1);
    clock_.advance(1ms);
    EXPECT_EQ(counter(store_, "k"), std::nullopt);
    EXPECT_EQ(store_.increment("k", 5, 1s).value(), 5) << "an expired counter starts afresh";
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

} // namespace
} // namespace cdn::kv
