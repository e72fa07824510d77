// Decode once, serve many (docs/perf.md): two variants of one original cost one decode, and the
// bytes are those of a server without the decoded-original cache.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>

#include "fixtures.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

/** A real photograph from Debian's mate-backgrounds: 2560×1600 JPEG. */
constexpr const char* PHOTO = "/usr/share/backgrounds/mate/nature/LadyBird.jpg";

/** A server on its own data dir holding the photograph, with `env`. */
struct Node {
    explicit Node(std::map<std::string, std::string> env) {
        key = create_customer(dir.path(), "pro@example.com", "pro");
        put_original(dir.path(), key, "photo.jpg", read_file(PHOTO));
        server = std::make_unique<ServerProcess>(dir.path(), std::move(env));
    }

    RawResponse get(const std::string& query) {
        auto res = http_request(server->port(), "GET", "/" + key + "/photo.jpg?" + query);
        EXPECT_TRUE(res) << query;
        EXPECT_EQ(res ? res->status : 0, 200) << query;
        return res ? *res : RawResponse{};
    }
    double metric(const std::string& name) {
        return scrape_metric(server->port(), name).value_or(-1);
    }

    TempDir dir;
    std::string key;
    std::unique_ptr<ServerProcess> server;
};

TEST(DecodeOnceServeManyTest, TwoVariantsOfOneOriginalCostOneDecodeAndTheSameBytesAsWithout) {
    ASSERT_TRUE(std::filesystem::exists(PHOTO)) << "install Debian's mate-backgrounds";
    (void)sample_png(); // starts libvips in this process
    using Env = std::map<std::string, std::string>;
    Node cached(Env{});
    Node uncached(Env{{"IMAGECDN_CACHE_DECODED_BYTES", "0"}});
    ASSERT_TRUE(cached.server->start()) << cached.server->stderr_text();
    ASSERT_TRUE(uncached.server->start()) << uncached.server->stderr_text();

    // 2560 px to 600 and to 500 px: both load at a quarter, one decode.
    const std::vector<std::string> variants{"w=600&format=webp&q=75", "w=500&format=jpeg&q=75"};
    for (const auto& query : variants) {
        const auto with = cached.get(query);
        const auto without = uncached.get(query);
        EXPECT_FALSE(with.body.empty()) << query;
        EXPECT_EQ(with.body, without.body) << query << ": the cache changed the output";
        EXPECT_EQ(with.header("etag"), without.header("etag")) << query;
    }
    EXPECT_EQ(cached.metric("imagecdn_decoded_cache_misses_total"), 1);
    EXPECT_EQ(cached.metric("imagecdn_decoded_cache_hits_total"), 1);
    EXPECT_GT(cached.metric("imagecdn_decoded_cache_bytes"), 0);
    EXPECT_EQ(uncached.metric("imagecdn_decoded_cache_misses_total"), 0);

    // Another shrink factor (2560 → 300 px loads at an eighth) is another decode.
    EXPECT_EQ(cached.get("w=300&format=webp").body, uncached.get("w=300&format=webp").body);
    EXPECT_EQ(cached.metric("imagecdn_decoded_cache_misses_total"), 2);
}

// The decoded original is keyed by the original's ETag, the hash of the bytes read on each miss:
// an original rewritten in place (same file, as `cp` does) is decoded again, never answered
// from the old decode.
TEST(DecodeOnceServeManyTest, AnOriginalReplacedInPlaceIsDecodedAgain) {
    ASSERT_TRUE(std::filesystem::exists(PHOTO)) << "install Debian's mate-backgrounds";
    (void)sample_png();
    using Env = std::map<std::string, std::string>;
    Node cached(Env{});
    Node uncached(Env{{"IMAGECDN_CACHE_DECODED_BYTES", "0"}});
    ASSERT_TRUE(cached.server->start()) << cached.server->stderr_text();
    ASSERT_TRUE(uncached.server->start()) << uncached.server->stderr_text();
    const auto before = cached.get("w=600&format=webp");
    EXPECT_EQ(cached.metric("imagecdn_decoded_cache_misses_total"), 1);

    // Blinds.jpg is over a megabyte: read into one of the kept read buffers (storage::Bytes).
    const auto replacement = read_file("/usr/share/backgrounds/mate/nature/Blinds.jpg");
    put_original(cached.dir.path(), cached.key, "photo.jpg", replacement);
    put_original(uncached.dir.path(), uncached.key, "photo.jpg", replacement);
    // Another variant key (`v`), the same size: the old decode would serve it.
    const auto after = cached.get("w=600&format=webp&v=2");
    EXPECT_EQ(after.body, uncached.get("w=600&format=webp&v=2").body);
    EXPECT_NE(after.body, before.body);
    EXPECT_EQ(cached.metric("imagecdn_decoded_cache_misses_total"), 2);
    EXPECT_EQ(cached.metric("imagecdn_decoded_cache_hits_total"), 0);
}

// The local store refuses an original over [limits] max_original_bytes before reading it, as
// the S3 store does: with or without options.
TEST(DecodeOnceServeManyTest, AnOriginalOverTheByteLimitIsRefusedWithoutBeingRead) {
    ASSERT_TRUE(std::filesystem::exists(PHOTO)) << "install Debian's mate-backgrounds";
    const auto size = std::filesystem::file_size(PHOTO);
    Node node({{"IMAGECDN_LIMITS_MAX_ORIGINAL_BYTES", std::to_string(size - 1)}});
    put_original(node.dir.path(), node.key, "small.jpg", read_file(PHOTO).substr(0, size - 1));
    ASSERT_TRUE(node.server->start()) << node.server->stderr_text();
    for (const std::string query : {"?w=100", ""}) {
        const auto refused = http_request(node.server->port(), "GET",
                                          "/" + node.key + "/photo.jpg" + query);
        ASSERT_TRUE(refused);
        EXPECT_EQ(refused->status, 413) << query << refused->body;
        EXPECT_NE(refused->body.find("source_too_large"), std::string::npos) << refused->body;
    }
    // At the limit: read (a truncated JPEG, so the transform refuses it, but not as too large).
    const auto at_limit =
        http_request(node.server->port(), "GET", "/" + node.key + "/small.jpg?w=100");
    ASSERT_TRUE(at_limit);
    EXPECT_NE(at_limit->status, 413) << at_limit->body;
}

} // namespace
} // namespace cdn::test
