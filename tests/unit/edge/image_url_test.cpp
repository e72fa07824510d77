#include "edge/image_url.h"

#include <gtest/gtest.h>

namespace cdn::edge {
namespace {

constexpr const char* PK = "pk_abcdefghijklmnopqrstuvwx";

TEST(ImageUrl, SplitsKeyPathAndQuery) {
    auto url = parse_image_url(std::string("/") + PK + "/products/item%20001.png", "w=800&v=2&fm=webp");
    ASSERT_TRUE(url) << url.error().message;
    EXPECT_EQ(url->public_key, PK);
    EXPECT_EQ(url->path, "products/item 001.png");
    EXPECT_EQ(url->store_key(), std::string(PK) + "/products/item 001.png");
    ASSERT_EQ(url->params.size(), 3u);
    EXPECT_EQ(url->params[0], (std::pair<std::string, std::string>{"w", "800"}));
}

TEST(ImageUrl, RefusesBadKeysAndPaths) {
    EXPECT_EQ(parse_image_url("/not_a_key/a.png", "").error().code, core::Errc::UnknownCustomer);
    EXPECT_EQ(parse_image_url(std::string("/") + PK, "").error().code, core::Errc::InvalidPath);
    EXPECT_EQ(parse_image_url(std::string("/") + PK + "/a/%2e%2e/b", "").error().code,
              core::Errc::InvalidPath);
    EXPECT_EQ(parse_image_url(std::string("/") + PK + "/a%00b", "").error().code,
              core::Errc::InvalidPath);
    EXPECT_EQ(parse_image_url(std::string("/") + PK + "/a%zz", "").error().code,
              core::Errc::InvalidPath);
    EXPECT_FALSE(parse_image_url(std::string("/") + PK + "/a.png", "w=%G0"));
}

TEST(ImageUrl, PercentDecode) {
    EXPECT_EQ(percent_decode("a%2Fb+c", true), "a/b c");
    EXPECT_EQ(percent_decode("a+c", false), "a+c");
    EXPECT_FALSE(percent_decode("%4", true));
    EXPECT_FALSE(percent_decode("%", true));
}

} // namespace
} // namespace cdn::edge
