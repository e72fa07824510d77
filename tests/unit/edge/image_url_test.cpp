#include "edge/image_url.h"

#include <gtest/gtest.h>

namespace cdn::edge {
namespace {

constexpr const char* PK = "pk_abcdefghijklmnopqrstuvwx";

TEST(ImageUrl, SplitsKeyPathAndQuery) {
    auto url = parse_image_path(std::string("/") + PK + "/products/item%20001.png");
    ASSERT_TRUE(url) << url.error().message;
    EXPECT_EQ(url->public_key, PK);
    EXPECT_EQ(url->path, "products/item 001.png");
    EXPECT_EQ(url->store_key(), std::string(PK) + "/products/item 001.png");
    auto params = parse_query("w=800&v=2&fm=web%70&&flag");
    ASSERT_TRUE(params);
    ASSERT_EQ(params->size(), 4u);
    EXPECT_EQ((*params)[0], (std::pair<std::string, std::string>{"w", "800"}));
    EXPECT_EQ((*params)[2], (std::pair<std::string, std::string>{"fm", "webp"}));
    EXPECT_EQ((*params)[3], (std::pair<std::string, std::string>{"flag", ""}));
}

TEST(ImageUrl, CustomDomainPathIsTheWholePath) {
    auto url = parse_custom_domain_path("/products/a%20b.png");
    ASSERT_TRUE(url);
    EXPECT_TRUE(url->public_key.empty());
    EXPECT_EQ(url->path, "products/a b.png");
    EXPECT_EQ(parse_custom_domain_path("/").error().code, core::Errc::InvalidPath);
    EXPECT_EQ(parse_custom_domain_path("/../etc/passwd").error().code, core::Errc::InvalidPath);
}

TEST(ImageUrl, RefusesBadKeysAndPaths) {
    EXPECT_EQ(parse_image_path("/not_a_key/a.png").error().code, core::Errc::UnknownCustomer);
    EXPECT_EQ(parse_image_path(std::string("/") + PK).error().code, core::Errc::InvalidPath);
    EXPECT_EQ(parse_image_path(std::string("/") + PK + "/a/%2e%2e/b").error().code,
              core::Errc::InvalidPath);
    EXPECT_EQ(parse_image_path(std::string("/") + PK + "/a%00b").error().code,
              core::Errc::InvalidPath);
    EXPECT_EQ(parse_image_path(std::string("/") + PK + "/a%zz").error().code,
              core::Errc::InvalidPath);
    EXPECT_FALSE(parse_query("w=%G0"));
}

TEST(ImageUrl, PercentDecode) {
    EXPECT_EQ(core::percent_decode("a%2Fb+c", true), "a/b c");
    EXPECT_EQ(core::percent_decode("a+c", false), "a+c");
    EXPECT_FALSE(core::percent_decode("%4", true));
    EXPECT_FALSE(core::percent_decode("%", true));
}

TEST(ImageUrl, CloudflarePathSplitsOptionsFromTheSource) {
    const std::string keyed = std::string("/cdn-cgi/image/width=640,quality=75/") + PK + "/a/b.png";
    auto split = split_cloudflare_path(keyed);
    ASSERT_TRUE(split && *split);
    EXPECT_EQ((*split)->options, "width=640,quality=75");
    EXPECT_EQ((*split)->source, std::string("/") + PK + "/a/b.png");
    auto url = parse_image_path((*split)->source);
    ASSERT_TRUE(url);
    EXPECT_EQ(url->path, "a/b.png");

    auto custom = split_cloudflare_path("/cdn-cgi/image/w=1/products/x.png");
    ASSERT_TRUE(custom && *custom);
    EXPECT_EQ((*custom)->source, "/products/x.png");
}

TEST(ImageUrl, OtherPathsAreNotCloudflarePaths) {
    for (const auto* path : {"/pk_x/a.png", "/cdn-cgi/imag/w=1/a.png", "/cdn-cgi/image"}) {
        auto split = split_cloudflare_path(path);
        ASSERT_TRUE(split) << path;
        EXPECT_FALSE(*split) << path;
    }
}

TEST(ImageUrl, CloudflarePathNeedsALocalSource) {
    for (const auto* path : {"/cdn-cgi/image/w=1", "/cdn-cgi/image/w=1/",
                             "/cdn-cgi/image/w=1/https://example.com/a.png",
                             "/cdn-cgi/image/w=1/http://example.com/a.png"}) {
        auto split = split_cloudflare_path(path);
        ASSERT_FALSE(split) << path;
        EXPECT_EQ(split.error().code, core::Errc::InvalidPath) << path;
    }
}

} // namespace
} // namespace cdn::edge
