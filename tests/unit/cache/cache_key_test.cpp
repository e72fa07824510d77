#include "cache/cache_key.h"

#include <gtest/gtest.h>

#include "cache/disk_cache.h"
#include "cache/memory_cache.h"
#include "core/hash.h"
#include "temp_dir.h"
#include "variant_support.h"

namespace cdn::cache {
namespace {

TEST(CacheKeyTest, HasTheCanonicalFormat) {
    const auto key = make_cache_key("pk_abc", "photos/cat.jpg", "w=800;fit=scale-down;f=webp");
    EXPECT_EQ(key,
              "imagecdn:pk_abc:photos/cat.jpg:" + core::sha256_hex("w=800;fit=scale-down;f=webp"));
    EXPECT_EQ(key.size(), std::string("imagecdn:pk_abc:photos/cat.jpg:").size() + 64);
}

TEST(CacheKeyTest, TheHashIsSha256OfTheCanonicalOptions) {
    // FIPS 180-2 test vector: a collision aimed at another variant needs one in SHA-256.
    EXPECT_EQ(core::sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(make_cache_key("pk", "a.png", "abc"), "imagecdn:pk:a.png:" + core::sha256_hex("abc"));
}

TEST(CacheKeyTest, EmptyOptionsAreHashedToo) {
    EXPECT_EQ(make_cache_key("pk", "a.png", ""),
              "imagecdn:pk:a.png:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CacheKeyTest, KeysOfOlderBuildsAreNeverProduced) {
    // Older builds keyed variants by XXH3-128 (32 hex characters): a disk tier they filled
    // misses on every new key instead of serving a variant under a key that means another.
    const std::string old_key = "imagecdn:pk:a.png:" + core::hash128_hex("w=1");
    EXPECT_NE(make_cache_key("pk", "a.png", "w=1"), old_key);
    EXPECT_TRUE(old_key.starts_with(key_prefix_for_path("pk", "a.png"))); // still purged
}

TEST(CacheKeyTest, ADiskTierOfAnOlderBuildMissesAndKeepsWorking) {
    test::TempDir dir;
    const std::string old_key = "imagecdn:pk:a.png:" + core::hash128_hex("w=1");
    const auto new_key = make_cache_key("pk", "a.png", "w=1");
    {
        auto old_build = DiskCache::open(dir.fs_path(), 1 << 20);
        ASSERT_TRUE(old_build);
        (*old_build)->put(*testing::make_variant(old_key, 100, 'o'));
    }
    auto reopened = DiskCache::open(dir.fs_path(), 1 << 20);
    ASSERT_TRUE(reopened);
    auto& disk = **reopened;
    EXPECT_EQ(disk.get(new_key), nullptr);
    disk.put(*testing::make_variant(new_key, 100, 'n'));
    ASSERT_NE(disk.get(new_key), nullptr);
    EXPECT_EQ(disk.get(new_key)->body, std::string(100, 'n'));
    // A purge of the path reaches the old entry as well as the new one.
    EXPECT_EQ(disk.erase_prefix(key_prefix_for_path("pk", "a.png")), 2u);
}

TEST(CacheKeyTest, EqualCanonicalOptionsGiveOneKeyAndOthersDiffer) {
    EXPECT_EQ(make_cache_key("pk", "a.png", "w=1"), make_cache_key("pk", "a.png", "w=1"));
    EXPECT_NE(make_cache_key("pk", "a.png", "w=1"), make_cache_key("pk", "a.png", "w=2"));
    EXPECT_NE(make_cache_key("pk", "a.png", "w=1"), make_cache_key("pk", "b.png", "w=1"));
    EXPECT_NE(make_cache_key("pk", "a.png", "w=1"), make_cache_key("pk2", "a.png", "w=1"));
}

TEST(CacheKeyTest, PrefixesMatchExactlyTheirVariants) {
    const auto key = make_cache_key("pk", "dir/a.png", "w=1");
    EXPECT_EQ(key_prefix_for_path("pk", "dir/a.png"), "imagecdn:pk:dir/a.png:");
    EXPECT_EQ(key_prefix_for_customer("pk"), "imagecdn:pk:");
    EXPECT_TRUE(key.starts_with(key_prefix_for_path("pk", "dir/a.png")));
    EXPECT_TRUE(key.starts_with(key_prefix_for_customer("pk")));
    // The trailing ':' keeps one path's or customer's purge from reaching another's.
    EXPECT_FALSE(make_cache_key("pk", "dir/a.png.webp", "")
                     .starts_with(key_prefix_for_path("pk", "dir/a.png")));
    EXPECT_FALSE(make_cache_key("pk2", "a.png", "").starts_with(key_prefix_for_customer("pk")));
}

TEST(CacheKeyTest, APathPrefixEndsInTheTrailingColon) {
    // Without it, purging a.png would reach a.png2 and a.png.webp.
    const auto prefix = key_prefix_for_path("pk", "a.png");
    EXPECT_TRUE(make_cache_key("pk", "a.png", "w=1").starts_with(prefix));
    EXPECT_FALSE(make_cache_key("pk", "a.png2", "w=1").starts_with(prefix));
    EXPECT_FALSE(make_cache_key("pk", "a.png.webp", "").starts_with(prefix));
}

TEST(CacheKeyTest, ACustomerPrefixDoesNotReachALongerPublicKey) {
    EXPECT_TRUE(make_cache_key("pk_abc", "a.png", "").starts_with(key_prefix_for_customer("pk_abc")));
    EXPECT_FALSE(
        make_cache_key("pk_abcd", "a.png", "").starts_with(key_prefix_for_customer("pk_abc")));
}

TEST(CacheKeyTest, APathPrefixPrefixReachesEveryPathUnderIt) {
    const auto prefix = key_prefix_for_path_prefix("pk", "products/");
    EXPECT_EQ(prefix, "imagecdn:pk:products/");
    EXPECT_TRUE(make_cache_key("pk", "products/a.png", "w=1").starts_with(prefix));
    EXPECT_TRUE(make_cache_key("pk", "products/sub/b.png", "").starts_with(prefix));
    EXPECT_FALSE(make_cache_key("pk", "products.png", "").starts_with(prefix));
    EXPECT_FALSE(make_cache_key("pk", "other/products/a.png", "").starts_with(prefix));
    EXPECT_FALSE(make_cache_key("pk2", "products/a.png", "").starts_with(prefix));
    // No trailing ':': a partial name reaches every path that continues it.
    EXPECT_TRUE(make_cache_key("pk", "products/ab.png", "")
                    .starts_with(key_prefix_for_path_prefix("pk", "products/a")));
    EXPECT_EQ(key_prefix_for_path_prefix("pk", ""), key_prefix_for_customer("pk"));
}

std::uint64_t always_zero(std::string_view) { return 0; }

TEST(OptionsDigestsTest, OptionsWhoseFastHashesCollideStillGetTheirOwnDigest) {
    // Every string in one bucket: only the comparison of whole strings tells them apart, as it
    // must when an attacker picks options whose fast hash matches another variant's.
    OptionsDigests digests(16, &always_zero);
    const std::string a = "w=800;f=webp";
    const std::string b = "w=801;f=webp";
    EXPECT_EQ(digests.digest(a), core::sha256_hex(a));
    EXPECT_EQ(digests.digest(b), core::sha256_hex(b));
    EXPECT_EQ(digests.digest(a), core::sha256_hex(a)); // remembered, still a's own
    EXPECT_EQ(digests.size(), 2U);
}

TEST(OptionsDigestsTest, KeysWhoseOptionsCollideInTheFastHashStayApartInTheCache) {
    OptionsDigests digests(16, &always_zero);
    const auto key_of = [&](std::string_view options) {
        return key_prefix_for_path("pk", "a.png") + digests.digest(options);
    };
    MemoryCache memory(1 << 20);
    memory.put(testing::make_variant(key_of("w=1"), 3, '1'));
    memory.put(testing::make_variant(key_of("w=2"), 3, '2'));
    ASSERT_NE(memory.get(key_of("w=1")), nullptr);
    EXPECT_EQ(memory.get(key_of("w=1"))->body, "111");
    EXPECT_EQ(memory.get(key_of("w=2"))->body, "222");
}

TEST(OptionsDigestsTest, StaysWithinItsCapacity) {
    OptionsDigests digests(4);
    for (int i = 0; i < 10; ++i) {
        const auto options = "w=" + std::to_string(i);
        EXPECT_EQ(digests.digest(options), core::sha256_hex(options));
        EXPECT_LE(digests.size(), 4U);
    }
}

TEST(OptionsDigestsTest, MakeCacheKeyGivesTheSameKeyWhenItRemembers) {
    const auto first = make_cache_key("pk", "a.png", "w=640;f=webp");
    EXPECT_EQ(make_cache_key("pk", "a.png", "w=640;f=webp"), first);
    EXPECT_EQ(make_cache_key("pk", "b.png", "w=640;f=webp"),
              "imagecdn:pk:b.png:" + core::sha256_hex("w=640;f=webp"));
}

} // namespace
} // namespace cdn::cache
