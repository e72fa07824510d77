#include "cache/memory_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "fake_clock.h"
#include "variant_support.h"

namespace cdn::cache {
namespace {

using cdn::test::FakeClock;
using testing::make_variant;

// Every variant below is charged exactly 1000 bytes: a 4-byte key, its fields and the overhead.
constexpr std::size_t CHARGE = 1000;
std::size_t body_for_charge(const std::string& key) {
    return CHARGE - key.size() - std::string("image/webp").size() -
           std::string("\"0123456789abcdef0123456789abcdef\"").size() -
           CachedVariant::FIXED_OVERHEAD;
}

VariantPtr variant(const std::string& key) { return make_variant(key, body_for_charge(key)); }

class MemoryCacheTest : public ::testing::Test {
protected:
    FakeClock clock_;
};

TEST_F(MemoryCacheTest, GetReturnsWhatWasPut) {
    MemoryCache cache(10 * CHARGE, clock_, 1);
    const auto v = variant("k001");
    ASSERT_EQ(v->charge(), CHARGE);
    cache.put(v);
    EXPECT_EQ(cache.get("k001"), v);
    EXPECT_EQ(cache.get("k002"), nullptr);
    EXPECT_EQ(cache.entries(), 1u);
    EXPECT_EQ(cache.size_bytes(), CHARGE);
}

TEST_F(MemoryCacheTest, PutReplacesTheEntryForTheSameKey) {
    MemoryCache cache(10 * CHARGE, clock_, 1);
    cache.put(variant("k001"));
    const auto newer = variant("k001");
    cache.put(newer);
    EXPECT_EQ(cache.get("k001"), newer);
    EXPECT_EQ(cache.entries(), 1u);
    EXPECT_EQ(cache.size_bytes(), CHARGE);
}

TEST_F(MemoryCacheTest, EvictsTheLeastRecentlyUsedByBytes) {
    MemoryCache cache(4 * CHARGE, clock_, 1);
    for (const auto* key : {"k001", "k002", "k003", "k004"}) {
        cache.put(variant(key));
    }
    ASSERT_NE(cache.get("k001"), nullptr); // k001 is now the most recent; k002 the least
    cache.put(variant("k005"));
    EXPECT_EQ(cache.get("k002"), nullptr);
    for (const auto* key : {"k001", "k003", "k004", "k005"}) {
        EXPECT_NE(cache.get(key), nullptr) << key;
    }
    EXPECT_EQ(cache.size_bytes(), 4 * CHARGE);
}

TEST_F(MemoryCacheTest, ABigEntryEvictsAsManyAsItNeeds) {
    MemoryCache cache(4 * CHARGE, clock_, 1);
    for (const auto* key : {"k001", "k002", "k003", "k004"}) {
        cache.put(variant(key));
    }
    cache.put(make_variant("big1", body_for_charge("big1") + 2 * CHARGE)); // charged 3000
    EXPECT_EQ(cache.get("k001"), nullptr);
    EXPECT_EQ(cache.get("k002"), nullptr);
    EXPECT_EQ(cache.get("k003"), nullptr);
    EXPECT_NE(cache.get("k004"), nullptr);
    EXPECT_NE(cache.get("big1"), nullptr);
    EXPECT_EQ(cache.size_bytes(), 4 * CHARGE);
}

TEST_F(MemoryCacheTest, AnEntryLargerThanAShardIsNotKeptAndDropsTheOldOne) {
    MemoryCache cache(4 * CHARGE, clock_, 1);
    cache.put(variant("k001"));
    cache.put(make_variant("k001", 5 * CHARGE));
    EXPECT_EQ(cache.get("k001"), nullptr);
    EXPECT_EQ(cache.size_bytes(), 0u);

    MemoryCache sharded(16 * CHARGE, clock_, 16); // 1000 bytes a shard
    sharded.put(make_variant("k002", CHARGE));
    EXPECT_EQ(sharded.get("k002"), nullptr);
    sharded.put(variant("k003"));
    EXPECT_NE(sharded.get("k003"), nullptr);
}

TEST_F(MemoryCacheTest, SizeNeverExceedsCapacityWhenFilledFarBeyondIt) {
    MemoryCache cache(64 * CHARGE + 123, clock_); // 16 shards
    for (int i = 0; i < 1000; ++i) {
        const auto key = "k" + std::to_string(i);
        cache.put(make_variant(key, static_cast<std::size_t>(i % 7) * 100));
        ASSERT_LE(cache.size_bytes(), 64 * CHARGE + 123);
    }
    EXPECT_GT(cache.entries(), 0u);
}

TEST_F(MemoryCacheTest, RecentlyReadEntriesSurviveAcrossShards) {
    MemoryCache cache(160 * CHARGE, clock_); // 16 shards of 10 entries
    const std::vector<std::string> hot = {"hot1", "hot2", "hot3"};
    for (const auto& key : hot) {
        cache.put(variant(key));
    }
    for (int i = 0; i < 2000; ++i) {
        for (const auto& key : hot) {
            ASSERT_NE(cache.get(key), nullptr) << key << " after " << i << " puts";
        }
        cache.put(variant("c" + std::to_string(1000 + i).substr(1)));
    }
}

TEST_F(MemoryCacheTest, ExpiredEntriesAreMisses) {
    MemoryCache cache(10 * CHARGE, clock_, 1);
    cache.put(variant("k404"), clock_.steady_now() + std::chrono::seconds(60));
    cache.put(variant("k200"));
    clock_.advance(std::chrono::seconds(59));
    EXPECT_NE(cache.get("k404"), nullptr);
    clock_.advance(std::chrono::seconds(1));
    EXPECT_EQ(cache.get("k404"), nullptr);
    EXPECT_NE(cache.get("k200"), nullptr);
    EXPECT_EQ(cache.entries(), 1u);
    EXPECT_EQ(cache.size_bytes(), CHARGE);
}

TEST_F(MemoryCacheTest, ErasePrefixDropsOnlyMatchingKeys) {
    MemoryCache cache(100 * CHARGE, clock_);
    cache.put(make_variant("imagecdn:pk:a.jpg:1", 10));
    cache.put(make_variant("imagecdn:pk:a.jpg:2", 10));
    cache.put(make_variant("imagecdn:pk:b.jpg:1", 10));
    cache.put(make_variant("imagecdn:pk2:a.jpg:1", 10));
    EXPECT_EQ(cache.erase_prefix("imagecdn:pk:a.jpg:"), 2u);
    EXPECT_EQ(cache.get("imagecdn:pk:a.jpg:1"), nullptr);
    EXPECT_NE(cache.get("imagecdn:pk:b.jpg:1"), nullptr);
    EXPECT_EQ(cache.erase_prefix("imagecdn:pk:"), 1u);
    EXPECT_NE(cache.get("imagecdn:pk2:a.jpg:1"), nullptr);
    EXPECT_EQ(cache.entries(), 1u);
}

TEST_F(MemoryCacheTest, HandedOutVariantsOutliveEviction) {
    MemoryCache cache(CHARGE, clock_, 1);
    cache.put(variant("k001"));
    const auto held = cache.get("k001");
    cache.put(variant("k002"));
    EXPECT_EQ(cache.get("k001"), nullptr);
    EXPECT_EQ(held->body.size(), body_for_charge("k001"));
}

TEST_F(MemoryCacheTest, ConcurrentUseStaysWithinCapacity) {
    MemoryCache cache(32 * CHARGE, clock_);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&cache, t] {
            for (int i = 0; i < 5000; ++i) {
                const auto key = "k" + std::to_string((i * 7 + t) % 200);
                if (i % 3 == 0) {
                    cache.put(make_variant(key, static_cast<std::size_t>(i % 5) * 100));
                } else if (auto v = cache.get(key)) {
                    ASSERT_EQ(v->key, key);
                }
                if (i % 1000 == 0) {
                    cache.erase_prefix("k1");
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_LE(cache.size_bytes(), 32 * CHARGE);
}

} // namespace
} // namespace cdn::cache
