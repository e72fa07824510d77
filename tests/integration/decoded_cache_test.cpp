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

} // namespace
} // namespace cdn::test
