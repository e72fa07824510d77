#include "storage/shared_variants.h"

#include <gtest/gtest.h>

#include "storage/local_blob_store.h"
#include "temp_dir.h"

namespace cdn::storage {
namespace {

TEST(SharedVariants, AVariantIsKeyedByItsOriginalsVersion) {
    EXPECT_EQ(shared_variant_key("pk_a", "products/cat.png", "65883f87", "9f1c").value(),
              "_variants/pk_a/products/cat.png/65883f87.9f1c");
    EXPECT_NE(shared_variant_key("pk_a", "cat.png", "v1", "h"),
              shared_variant_key("pk_a", "cat.png", "v2", "h"))
        << "a replaced original has other variants";
    EXPECT_EQ(shared_variant_key("pk_a", "cat.png", "abc-3", "h").value(),
              "_variants/pk_a/cat.png/abc-3.h")
        << "a multipart ETag";
    EXPECT_FALSE(shared_variant_key("pk_a", "cat.png", "", "h")) << "no version: not shared";
    EXPECT_FALSE(shared_variant_key("pk_a", "cat.png", "\"v1\"", "h"));
    EXPECT_FALSE(shared_variant_key("pk_a", "cat.png", "v/../x", "h"));
}

TEST(SharedVariants, PurgePrefixesReachWhatTheCachePurgesReach) {
    const auto key = shared_variant_key("pk_a", "products/cat.png", "v", "h").value();
    EXPECT_TRUE(key.starts_with(shared_variant_path_prefix("pk_a", "products/cat.png")));
    EXPECT_TRUE(key.starts_with(shared_variant_tree_prefix("pk_a", "products/")));
    EXPECT_TRUE(key.starts_with(shared_variant_tree_prefix("pk_a", "")));
    EXPECT_FALSE(key.starts_with(shared_variant_path_prefix("pk_a", "products/cat")));
    EXPECT_FALSE(key.starts_with(shared_variant_tree_prefix("pk_ab", "")));
}

TEST(SharedVariants, RemoveAllUnderDeletesEveryPageAndNothingElse) {
    test::TempDir dir;
    auto store = LocalBlobStore::create(dir.path()).value();
    for (int i = 0; i < 25; ++i) {
        ASSERT_TRUE(store->put("_variants/pk_a/cat.png/v." + std::to_string(i), "x"));
    }
    ASSERT_TRUE(store->put("_variants/pk_a/dog.png/v.1", "x"));
    ASSERT_TRUE(store->put("pk_a/cat.png", "original"));
    EXPECT_EQ(remove_all_under(*store, "_variants/pk_a/cat.png/").value(), 25u);
    EXPECT_TRUE(store->head("_variants/pk_a/dog.png/v.1"));
    EXPECT_TRUE(store->head("pk_a/cat.png"));
    EXPECT_EQ(remove_all_under(*store, "_variants/pk_a/cat.png/").value(), 0u);
}

} // namespace
} // namespace cdn::storage
