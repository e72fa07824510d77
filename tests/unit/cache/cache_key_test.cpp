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

} // namespace
} // namespace cdn::cache
