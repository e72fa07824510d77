#include "cache/purge.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cache/cache_key.h"
#include "fake_clock.h"
#include "temp_dir.h"
#include "variant_support.h"

namespace cdn::cache {
namespace {

using cdn::test::FakeClock;
using cdn::test::TempDir;
using Scope = PurgeRequest::Scope;

class PurgeTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto disk = DiskCache::open(dir_.fs_path() / "cache", 10 * 1024 * 1024);
        ASSERT_TRUE(disk);
        disk_ = std::move(*disk);
        cache_ = std::make_unique<TieredCache>(memory_, disk_.get());
    }

    /** Stores a variant of `path` in both tiers; returns its key. */
    std::string put(std::string_view public_key, std::string_view path,
                    std::string_view options = "w=1") {
        auto key = make_cache_key(public_key, path, options);
        cache_->put(testing::make_variant(key, 10));
        return key;
    }

    bool in_memory(const std::string& key) { return memory_.get(key) != nullptr; }
    bool on_disk(const std::string& key) { return disk_->get(key) != nullptr; }
    bool anywhere(const std::string& key) { return in_memory(key) || on_disk(key); }
    bool everywhere(const std::string& key) { return in_memory(key) && on_disk(key); }

    TempDir dir_;
    FakeClock clock_;
    MemoryCache memory_{10 * 1024 * 1024, clock_};
    std::unique_ptr<DiskCache> disk_;
    std::unique_ptr<TieredCache> cache_;
};

PurgeRequest paths(std::string public_key, std::vector<std::string> list) {
    return PurgeRequest{std::move(public_key), Scope::Paths, std::move(list), {}};
}

PurgeRequest prefix(std::string public_key, std::string path_prefix) {
    return PurgeRequest{std::move(public_key), Scope::Prefix, {}, std::move(path_prefix)};
}

PurgeRequest all(std::string public_key) {
    return PurgeRequest{std::move(public_key), Scope::All, {}, {}};
}

TEST_F(PurgeTest, ByPathDropsEveryVariantOfThatPathAndNoOther) {
    const auto w1 = put("pk", "a.png", "w=1");
    const auto w2 = put("pk", "a.png", "w=2");
    const std::vector<std::string> kept{put("pk", "a.png.webp"), put("pk", "a.png2"),
                                        put("pk", "dir/a.png"), put("pk2", "a.png")};
    EXPECT_EQ(apply_purge(*cache_, paths("pk", {"a.png"})), 2u);
    EXPECT_FALSE(anywhere(w1));
    EXPECT_FALSE(anywhere(w2));
    for (const auto& key : kept) {
        EXPECT_TRUE(everywhere(key)) << key;
    }
}

TEST_F(PurgeTest, ByPathsSumsOverThePaths) {
    put("pk", "a.png", "w=1");
    put("pk", "a.png", "w=2");
    put("pk", "b.png");
    const auto kept = put("pk", "c.png");
    EXPECT_EQ(apply_purge(*cache_, paths("pk", {"a.png", "b.png", "missing.png"})), 3u);
    EXPECT_EQ(memory_.entries(), 1u);
    EXPECT_EQ(disk_->entries(), 1u);
    EXPECT_TRUE(everywhere(kept));
}

TEST_F(PurgeTest, ByPrefixDropsEveryPathUnderIt) {
    const auto a = put("pk", "products/a.png");
    const auto b = put("pk", "products/sub/b.png");
    const std::vector<std::string> kept{put("pk", "products.png"), put("pk", "other/products/a.png"),
                                        put("pk2", "products/a.png")};
    EXPECT_EQ(apply_purge(*cache_, prefix("pk", "products/")), 2u);
    EXPECT_FALSE(anywhere(a));
    EXPECT_FALSE(anywhere(b));
    for (const auto& key : kept) {
        EXPECT_TRUE(everywhere(key)) << key;
    }
}

TEST_F(PurgeTest, ByCustomerDropsEverythingOfThatCustomerOnly) {
    put("pk_abc", "a.png");
    put("pk_abc", "dir/b.png", "w=5");
    const auto longer_key = put("pk_abcd", "a.png");
    const auto other = put("pk_ab", "a.png");
    EXPECT_EQ(apply_purge(*cache_, all("pk_abc")), 2u);
    EXPECT_TRUE(everywhere(longer_key));
    EXPECT_TRUE(everywhere(other));
    EXPECT_EQ(memory_.entries(), 2u);
    EXPECT_EQ(disk_->entries(), 2u);
}

TEST_F(PurgeTest, ReachesVariantsInEitherTierAlone) {
    const auto memory_only = make_cache_key("pk", "a.png", "w=1");
    const auto disk_only = make_cache_key("pk", "a.png", "w=2");
    cache_->put_in_memory(testing::make_variant(memory_only, 10));
    cache_->put_on_disk(testing::make_variant(disk_only, 10));
    // The larger of the two tiers' counts: one variant in each.
    EXPECT_EQ(apply_purge(*cache_, paths("pk", {"a.png"})), 1u);
    EXPECT_FALSE(anywhere(memory_only));
    EXPECT_FALSE(anywhere(disk_only));
    EXPECT_EQ(cache_->get(disk_only).tier, Tier::None);
}

TEST_F(PurgeTest, MarksTheKeysItCoversAsPurgedForVariantsInProduction) {
    const auto before = cache_->generation();
    apply_purge(*cache_, paths("pk", {"a.png", "b.png"}));
    EXPECT_EQ(cache_->generation(), before + 2);
    EXPECT_TRUE(cache_->purged_since(make_cache_key("pk", "b.png", ""), before));
    EXPECT_FALSE(cache_->purged_since(make_cache_key("pk", "c.png", ""), before));
    apply_purge(*cache_, all("pk2"));
    EXPECT_TRUE(cache_->purged_since(make_cache_key("pk2", "c.png", ""), before));
}

TEST(PurgeMessageTest, EncodesCompactJson) {
    EXPECT_EQ(encode_purge(paths("pk_abc", {"a.png", "dir/b c.png"})),
              R"({"public_key":"pk_abc","scope":"paths","paths":["a.png","dir/b c.png"]})");
    EXPECT_EQ(encode_purge(prefix("pk_abc", "products/")),
              R"({"public_key":"pk_abc","scope":"prefix","prefix":"products/"})");
    EXPECT_EQ(encode_purge(all("pk_abc")), R"({"public_key":"pk_abc","scope":"all"})");
    EXPECT_EQ(PURGE_CHANNEL, "purge"); // "imagecdn:purge" on Redis, with the default prefix
}

TEST(PurgeMessageTest, DecodesWhatItEncodes) {
    const std::vector<PurgeRequest> requests{
        paths("pk_abc", {"a.png"}),
        paths("pk_abc", {"dir/\"quoted\" \\ path.png", "caf\xc3\xa9.jpg", "a:b.png"}),
        prefix("pk_abc", "products/"),
        all("pk_abc"),
    };
    for (const auto& request : requests) {
        const auto json = encode_purge(request);
        const auto decoded = decode_purge(json);
        ASSERT_TRUE(decoded) << json;
        EXPECT_EQ(*decoded, request) << json;
    }
}

TEST(PurgeMessageTest, RejectsAnythingMalformed) {
    const std::vector<std::string> malformed{
        "",
        "not json",
        "[]",
        "null",
        R"("pk_abc")",
        "{}",
        R"({"public_key":"pk_abc","scope":"all"} trailing)",
        R"({"public_key":"pk_abc","scope":"all")",
        // public_key
        R"({"scope":"all"})",
        R"({"public_key":1,"scope":"all"})",
        R"({"public_key":"","scope":"all"})",
        R"({"public_key":"pk_abc:a.png","scope":"all"})",
        // scope
        R"({"public_key":"pk_abc"})",
        R"({"public_key":"pk_abc","scope":"everything"})",
        R"({"public_key":"pk_abc","scope":"ALL"})",
        R"({"public_key":"pk_abc","scope":1})",
        // paths
        R"({"public_key":"pk_abc","scope":"paths"})",
        R"({"public_key":"pk_abc","scope":"paths","paths":[]})",
        R"({"public_key":"pk_abc","scope":"paths","paths":"a.png"})",
        R"({"public_key":"pk_abc","scope":"paths","paths":[1]})",
        R"({"public_key":"pk_abc","scope":"paths","paths":[""]})",
        R"({"public_key":"pk_abc","scope":"paths","paths":["a.png",null]})",
        // prefix
        R"({"public_key":"pk_abc","scope":"prefix"})",
        R"({"public_key":"pk_abc","scope":"prefix","prefix":""})",
        R"({"public_key":"pk_abc","scope":"prefix","prefix":["a"]})",
        // members that do not belong
        R"({"public_key":"pk_abc","scope":"all","extra":1})",
        R"({"public_key":"pk_abc","scope":"all","prefix":"a/"})",
        R"({"public_key":"pk_abc","scope":"prefix","prefix":"a/","paths":["a.png"]})",
        R"({"public_key":"pk_abc","scope":"paths","paths":["a.png"],"prefix":"a/"})",
    };
    for (const auto& json : malformed) {
        const auto decoded = decode_purge(json);
        ASSERT_FALSE(decoded) << json;
        EXPECT_EQ(decoded.error().code, core::Errc::InvalidRequest) << json;
    }
}

} // namespace
} // namespace cdn::cache
