#include "cache/cache_key.h"

#include <gtest/gtest.h>

#include "core/hash.h"

namespace cdn::cache {
namespace {

TEST(CacheKeyTest, HasTheCanonicalFormat) {
    const auto key = make_cache_key("pk_abc", "photos/cat.jpg", "w=800;fit=scale-down;f=webp");
    EXPECT_EQ(key,
              "imagecdn:pk_abc:photos/cat.jpg:" + core::hash128_hex("w=800;fit=scale-down;f=webp"));
    EXPECT_EQ(key.size(), std::string("imagecdn:pk_abc:photos/cat.jpg:").size() + 32);
}

TEST(CacheKeyTest, EmptyOptionsAreHashedToo) {
    EXPECT_EQ(make_cache_key("pk", "a.png", ""), "imagecdn:pk:a.png:" + core::hash128_hex(""));
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

} // namespace
} // namespace cdn::cache
