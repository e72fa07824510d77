#include "cache/tiered_cache.h"

#include <gtest/gtest.h>

#include "temp_dir.h"
#include "fake_clock.h"
#include "variant_support.h"

namespace cdn::cache {
namespace {

using cdn::test::FakeClock;
using testing::make_variant;
using cdn::test::TempDir;

class TieredCacheTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto disk = DiskCache::open(dir_.fs_path() / "cache", 10 * 1024 * 1024);
        ASSERT_TRUE(disk);
        disk_ = std::move(*disk);
    }

    TempDir dir_;
    FakeClock clock_;
    MemoryCache memory_{10 * 1024 * 1024, clock_};
    std::unique_ptr<DiskCache> disk_;
};

TEST_F(TieredCacheTest, AnswersFromMemoryFirst) {
    TieredCache cache(memory_, disk_.get());
    const auto v = make_variant("k1", 100);
    cache.put(v);
    const auto hit = cache.get("k1");
    EXPECT_EQ(hit.tier, Tier::Memory);
    EXPECT_EQ(hit.variant, v);
    EXPECT_NE(disk_->get("k1"), nullptr);
}

TEST_F(TieredCacheTest, TheHalvesOfPutAndTheMemoryOnlyLookup) {
    TieredCache cache(memory_, disk_.get());
    cache.put_in_memory(make_variant("mem", 100));
    EXPECT_NE(cache.get_from_memory("mem"), nullptr);
    EXPECT_EQ(disk_->get("mem"), nullptr);
    cache.put_on_disk(make_variant("disk", 100));
    EXPECT_EQ(cache.get_from_memory("disk"), nullptr);
    EXPECT_EQ(cache.get("disk").tier, Tier::Disk);
    const auto stats = cache.stats();
    EXPECT_EQ(stats.memory_hits, 1u);
    EXPECT_EQ(stats.disk_hits, 1u);
    EXPECT_EQ(stats.misses, 0u); // a memory-only miss is not counted
}

TEST_F(TieredCacheTest, ADiskHitIsPromotedToMemory) {
    TieredCache cache(memory_, disk_.get());
    cache.put(make_variant("k1", 100));
    memory_.erase_prefix("");
    const auto first = cache.get("k1");
    EXPECT_EQ(first.tier, Tier::Disk);
    ASSERT_NE(first.variant, nullptr);
    EXPECT_EQ(first.variant->body, std::string(100, 'x'));
    EXPECT_EQ(cache.get("k1").tier, Tier::Memory);
}

TEST_F(TieredCacheTest, AMissIsCounted) {
    TieredCache cache(memory_, disk_.get());
    const auto miss = cache.get("nothing");
    EXPECT_EQ(miss.tier, Tier::None);
    EXPECT_EQ(miss.variant, nullptr);
    cache.put(make_variant("k1", 10));
    cache.get("k1");
    memory_.erase_prefix("");
    cache.get("k1");
    const auto stats = cache.stats();
    EXPECT_EQ(stats.misses, 1u);
    EXPECT_EQ(stats.memory_hits, 1u);
    EXPECT_EQ(stats.disk_hits, 1u);
}

TEST_F(TieredCacheTest, AnExpiringEntryStaysInMemoryOnly) {
    TieredCache cache(memory_, disk_.get());
    auto not_found = std::make_shared<CachedVariant>(*make_variant("k404", 10));
    not_found->status = 404;
    cache.put(not_found, clock_.steady_now() + std::chrono::seconds(60));
    EXPECT_EQ(cache.get("k404").tier, Tier::Memory);
    EXPECT_EQ(disk_->get("k404"), nullptr);
    clock_.advance(std::chrono::seconds(61));
    EXPECT_EQ(cache.get("k404").tier, Tier::None);
}

TEST_F(TieredCacheTest, PurgeReachesBothTiers) {
    TieredCache cache(memory_, disk_.get());
    cache.put(make_variant("imagecdn:pk:a.jpg:1", 10));
    cache.put(make_variant("imagecdn:pk:a.jpg:2", 10));
    cache.put(make_variant("imagecdn:pk:b.jpg:1", 10));
    EXPECT_EQ(cache.purge_prefix("imagecdn:pk:a.jpg:"), 2u);
    EXPECT_EQ(cache.get("imagecdn:pk:a.jpg:1").tier, Tier::None);
    EXPECT_EQ(disk_->get("imagecdn:pk:a.jpg:2"), nullptr);
    EXPECT_EQ(cache.get("imagecdn:pk:b.jpg:1").tier, Tier::Memory);
}

TEST_F(TieredCacheTest, WorksWithoutADiskTier) {
    TieredCache cache(memory_, nullptr);
    cache.put(make_variant("k1", 10));
    EXPECT_EQ(cache.get("k1").tier, Tier::Memory);
    EXPECT_EQ(cache.purge_prefix("k"), 1u);
    EXPECT_EQ(cache.get("k1").tier, Tier::None);
}

} // namespace
} // namespace cdn::cache
