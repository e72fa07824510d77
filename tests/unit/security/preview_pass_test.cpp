#include "security/preview_pass.h"

#include <string>

#include <gtest/gtest.h>

namespace cdn::security {
namespace {

const std::string KEY = preview_pass_key("shared-secret-0123456789abcdef");
constexpr std::int64_t NOW = 1'800'000'000;

TEST(PreviewPass, VerifiesForItsCustomerUntilItExpires) {
    const auto pass = make_preview_pass(KEY, "cus_1", NOW + 900);
    EXPECT_TRUE(preview_pass_valid(KEY, pass, "cus_1", NOW));
    EXPECT_TRUE(preview_pass_valid(KEY, pass, "cus_1", NOW + 899));
    EXPECT_FALSE(preview_pass_valid(KEY, pass, "cus_1", NOW + 900));
    EXPECT_FALSE(preview_pass_valid(KEY, pass, "cus_2", NOW));
}

TEST(PreviewPass, RefusesForgedAndMalformedPasses) {
    const auto pass = make_preview_pass(KEY, "cus_1", NOW + 900);
    auto forged = pass;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    EXPECT_FALSE(preview_pass_valid(KEY, forged, "cus_1", NOW));
    // A later expiry with the old MAC, and a pass made with another secret.
    auto extended = pass;
    extended.replace(extended.find(std::to_string(NOW + 900)), 10, std::to_string(NOW + 9999));
    EXPECT_FALSE(preview_pass_valid(KEY, extended, "cus_1", NOW));
    EXPECT_FALSE(preview_pass_valid(preview_pass_key("another secret 0123456789abcdef"), pass,
                                    "cus_1", NOW));
    for (const char* bad : {"", ".", "cus_1", "cus_1.", "cus_1..", ".1.x", "cus_1.x1.abc"}) {
        EXPECT_FALSE(preview_pass_valid(KEY, bad, "cus_1", NOW)) << bad;
    }
    EXPECT_FALSE(preview_pass_valid("", make_preview_pass("", "cus_1", NOW + 1), "cus_2", NOW));
}

TEST(PreviewPass, FindsTheCookieAmongOthers) {
    EXPECT_EQ(cookie_value("a=1; cdn_preview=x.1.y ;b=2", PREVIEW_COOKIE), "x.1.y");
    EXPECT_EQ(cookie_value("cdn_preview_other=1", PREVIEW_COOKIE), std::nullopt);
    EXPECT_EQ(cookie_value("", PREVIEW_COOKIE), std::nullopt);
}

} // namespace
} // namespace cdn::security
