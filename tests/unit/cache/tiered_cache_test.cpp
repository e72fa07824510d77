#include "cache/tiered_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

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

TEST_F(TieredCacheTest, TheDiskHalfOfALookupPromotesAndCountsTheMissOfBothTiers) {
    TieredCache cache(memory_, disk_.get());
    EXPECT_TRUE(cache.has_disk());
    cache.put(make_variant("k1", 10));
    memory_.erase_prefix("");
    EXPECT_EQ(cache.get_from_memory("k1"), nullptr);
    ASSERT_NE(cache.get_from_disk("k1"), nullptr);
    EXPECT_NE(cache.get_from_memory("k1"), nullptr);
    EXPECT_EQ(cache.get_from_disk("nothing"), nullptr);
    const auto stats = cache.stats();
    EXPECT_EQ(stats.memory_hits, 1u);
    EXPECT_EQ(stats.disk_hits, 1u);
    EXPECT_EQ(stats.misses, 1u);
    // Without a disk tier the disk half answers at once, and still counts the miss.
    TieredCache memory_only(memory_, nullptr);
    EXPECT_FALSE(memory_only.has_disk());
    EXPECT_EQ(memory_only.get_from_disk("nothing"), nullptr);
    EXPECT_EQ(memory_only.stats().misses, 1u);
}

TEST_F(TieredCacheTest, AMissOnDiskIsKnownFromTheIndexAndCounted) {
    TieredCache cache(memory_, disk_.get());
    cache.put_on_disk(make_variant("k1", 10));
    EXPECT_FALSE(cache.missing_on_disk("k1")) << "held: the file must be read to answer";
    EXPECT_TRUE(cache.missing_on_disk("nothing"));
    EXPECT_EQ(cache.stats().misses, 1u);
    cache.purge_prefix("k");
    EXPECT_TRUE(cache.missing_on_disk("k1")) << "purged: out of the index too";
    EXPECT_EQ(cache.stats().misses, 2u);
    // Without a disk tier it knows nothing, and get_from_disk() answers at once anyway.
    TieredCache memory_only(memory_, nullptr);
    EXPECT_FALSE(memory_only.missing_on_disk("nothing"));
    EXPECT_EQ(memory_only.stats().misses, 0u);
}

TEST_F(TieredCacheTest, ALookupsStatusNamesItsTierAndItsHeaderDoesNot) {
    TieredCache cache(memory_, disk_.get());
    cache.put(make_variant("k1", 10));
    EXPECT_EQ(cache.get("k1").status(), Status::Hit);
    memory_.erase_prefix("");
    EXPECT_EQ(cache.get("k1").status(), Status::HitDisk);
    EXPECT_EQ(cache.get("nothing").status(), Status::Miss);
    EXPECT_EQ(header_value(Status::Hit), "HIT");
    EXPECT_EQ(header_value(Status::HitDisk), "HIT");
    EXPECT_EQ(header_value(Status::Miss), "MISS");
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

// delivery.md step 9: a variant past its freshness is made again, but while the store is down it
// is still served, from whichever tier kept it.
TEST_F(TieredCacheTest, AStaleVariantIsAMissThatGetStaleStillFinds) {
    TieredCache cache(memory_, disk_.get());
    auto v = std::make_shared<CachedVariant>(*make_variant("k1", 10));
    v->fresh_until = clock_.unix_seconds() + 10;
    cache.put(v);
    EXPECT_EQ(cache.get("k1").tier, Tier::Memory);
    clock_.advance(std::chrono::seconds(10));
    EXPECT_EQ(cache.get("k1").tier, Tier::None);
    EXPECT_EQ(cache.stats().misses, 1u);
    // The miss read the disk's copy and promoted it, stale, to memory: get_stale finds it there.
    const auto stale = cache.get_stale("k1");
    ASSERT_NE(stale, nullptr);
    EXPECT_EQ(stale->body, v->body);
    EXPECT_EQ(cache.stats().stale_served, 1u);

    // From the disk tier too (a restart empties memory): fresh_until is kept in the file.
    MemoryCache after_restart{10 * 1024 * 1024, clock_};
    TieredCache restarted(after_restart, disk_.get());
    EXPECT_EQ(restarted.get("k1").tier, Tier::None);
    const auto from_disk = restarted.get_stale("k1");
    ASSERT_NE(from_disk, nullptr);
    EXPECT_EQ(from_disk->fresh_until, v->fresh_until);
    EXPECT_EQ(from_disk->body, v->body);
    EXPECT_EQ(header_value(Status::Stale), "STALE");
}

TEST_F(TieredCacheTest, GetStaleNeverAnswersACached404OrNothing) {
    TieredCache cache(memory_, disk_.get());
    auto not_found = std::make_shared<CachedVariant>(*make_variant("k404", 10));
    not_found->status = 404;
    cache.put_in_memory(not_found);
    EXPECT_EQ(cache.get_stale("k404"), nullptr);
    EXPECT_EQ(cache.get_stale("nothing"), nullptr);
    EXPECT_EQ(cache.stats().stale_served, 0u);
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

TEST_F(TieredCacheTest, EveryPurgeBumpsTheGeneration) {
    TieredCache cache(memory_, disk_.get());
    EXPECT_EQ(cache.generation(), 0u);
    cache.purge_prefix("imagecdn:pk:a.png:");
    cache.purge_prefix("nothing-matches");
    EXPECT_EQ(cache.generation(), 2u);
}

TEST_F(TieredCacheTest, PurgedSinceSeesOnlyLaterCoveringPurges) {
    TieredCache cache(memory_, disk_.get());
    const auto key = "imagecdn:pk:a.png:0123";
    EXPECT_FALSE(cache.purged_since(key, cache.generation())); // nothing purged at all
    cache.purge_prefix("imagecdn:pk:a.png:");
    const auto after_first = cache.generation();
    EXPECT_TRUE(cache.purged_since(key, 0));
    EXPECT_FALSE(cache.purged_since(key, after_first)); // that purge came before
    cache.purge_prefix("imagecdn:pk:b.png:");
    cache.purge_prefix("imagecdn:pk2:");
    EXPECT_FALSE(cache.purged_since(key, after_first)); // later ones, but not covering it
    cache.purge_prefix("imagecdn:pk:");
    EXPECT_TRUE(cache.purged_since(key, after_first));
    EXPECT_FALSE(cache.purged_since(key, cache.generation()));
}

TEST_F(TieredCacheTest, PurgedSinceIsConservativeOnceTheHistoryOverflows) {
    TieredCache cache(memory_, nullptr);
    const auto key = "imagecdn:pk:a.png:0123";
    const auto start = cache.generation();
    for (std::size_t i = 0; i < TieredCache::PURGE_HISTORY; ++i) {
        cache.purge_prefix("imagecdn:other:");
    }
    EXPECT_FALSE(cache.purged_since(key, start)); // every purge since is still remembered
    cache.purge_prefix("imagecdn:other:");
    EXPECT_TRUE(cache.purged_since(key, start)); // one is forgotten: it may have covered key
    EXPECT_FALSE(cache.purged_since(key, start + 1));
    // The history wrapped: the newest slot replaced the oldest, and is found there.
    cache.purge_prefix("imagecdn:pk:a.png:");
    EXPECT_TRUE(cache.purged_since(key, cache.generation() - 1));
    EXPECT_FALSE(cache.purged_since("imagecdn:pk:b.png:0123", cache.generation() - 1));
}

TEST_F(TieredCacheTest, APutUnlessPurgedKeepsNoVariantAPurgeCovered) {
    TieredCache cache(memory_, disk_.get());
    const auto before = cache.generation();
    cache.purge_prefix("imagecdn:pk:a.png:"); // while the variant was being produced
    const auto stale = make_variant("imagecdn:pk:a.png:1", 10);
    EXPECT_FALSE(cache.put_in_memory_unless_purged(stale, before));
    EXPECT_FALSE(cache.put_on_disk_unless_purged(stale, before));
    EXPECT_EQ(memory_.get(stale->key), nullptr);
    EXPECT_EQ(disk_->get(stale->key), nullptr);

    const auto other = make_variant("imagecdn:pk:b.png:1", 10);
    EXPECT_TRUE(cache.put_in_memory_unless_purged(other, before));
    EXPECT_TRUE(cache.put_on_disk_unless_purged(other, before));
    EXPECT_NE(memory_.get(other->key), nullptr);
    EXPECT_NE(disk_->get(other->key), nullptr);

    // Produced after the purge: cached as usual.
    EXPECT_TRUE(cache.put_in_memory_unless_purged(stale, cache.generation()));
    EXPECT_TRUE(cache.put_on_disk_unless_purged(stale, cache.generation()));
}

TEST_F(TieredCacheTest, APutUnlessPurgedOnDiskNeedsADiskTier) {
    TieredCache cache(memory_, nullptr);
    EXPECT_FALSE(cache.put_on_disk_unless_purged(make_variant("k1", 10), cache.generation()));
    EXPECT_TRUE(cache.put_in_memory_unless_purged(make_variant("k1", 10), cache.generation()));
}

// Producers store the original's version they read; a purger replaces the original (bumps the
// version) and then purges. However they interleave, once all stop no tier may hold a version
// older than the last one.
TEST_F(TieredCacheTest, NoStaleVariantSurvivesPurgesRacingWithPuts) {
    TieredCache cache(memory_, disk_.get());
    const std::string key = "imagecdn:pk:a.png:0123";
    std::atomic<int> version{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> producers;
    for (int t = 0; t < 4; ++t) {
        producers.emplace_back([&, t] {
            for (int i = 0; !done.load(); ++i) {
                const auto g = cache.generation(); // before reading the original
                auto v = std::make_shared<CachedVariant>(*make_variant(key, 0));
                v->body = std::to_string(version.load());
                if ((i + t) % 2 == 0) {
                    cache.put_in_memory_unless_purged(v, g);
                } else {
                    cache.put_on_disk_unless_purged(v, g);
                }
            }
        });
    }
    for (int i = 1; i <= 300; ++i) {
        version.store(i);
        cache.purge_prefix("imagecdn:pk:a.png:");
    }
    done.store(true);
    for (auto& producer : producers) {
        producer.join();
    }
    const auto latest = std::to_string(version.load());
    if (const auto in_memory = memory_.get(key)) {
        EXPECT_EQ(in_memory->body, latest);
    }
    if (const auto on_disk = disk_->get(key)) {
        EXPECT_EQ(on_disk->body, latest);
    }
}

} // namespace
} // namespace cdn::cache
