#include "transform/negotiate.h"

#include <gtest/gtest.h>

namespace cdn::transform {
namespace {

std::string key_of(DeliveryOptions options, std::string_view path = "photo.jpg",
                   CustomerPolicy policy = {}) {
    policy.avif_allowed = true;
    auto negotiated = negotiate(options, {}, policy, path);
    EXPECT_TRUE(negotiated);
    return negotiated ? negotiated->spec.canonical() : std::string();
}

DeliveryOptions sized(std::optional<std::uint32_t> quality = std::nullopt,
                      std::optional<RequestedFormat> format = std::nullopt) {
    DeliveryOptions options;
    options.width = 300;
    options.quality = quality;
    options.format = format;
    return options;
}

TEST(NegotiateQuality, SpellingOutTheDefaultGivesTheSameKey) {
    EXPECT_EQ(key_of(sized(80)), key_of(sized()));
    EXPECT_EQ(key_of(sized(80, RequestedFormat::Jpeg)), key_of(sized({}, RequestedFormat::Jpeg)));
    EXPECT_EQ(key_of(sized(80, RequestedFormat::Webp)), key_of(sized({}, RequestedFormat::Webp)));
    EXPECT_EQ(key_of(sized(60, RequestedFormat::Avif)), key_of(sized({}, RequestedFormat::Avif)));
    // format=auto for a client without AVIF or WebP: JPEG (80) or PNG (no quality).
    EXPECT_EQ(key_of(sized(80, RequestedFormat::Auto)), key_of(sized({}, RequestedFormat::Auto)));
    // An AVIF original, as its name says, with no format: AVIF's default.
    EXPECT_EQ(key_of(sized(60), "a/photo.AVIF"), key_of(sized(), "a/photo.AVIF"));
    EXPECT_NE(key_of(sized(80), "a/photo.avif"), key_of(sized(), "a/photo.avif"));
    // A quality PNG output ignores is left out whatever it is.
    EXPECT_EQ(key_of(sized(35, RequestedFormat::Png)), key_of(sized({}, RequestedFormat::Png)));
}

TEST(NegotiateQuality, OtherQualitiesKeepTheirOwnKey) {
    EXPECT_NE(key_of(sized(81)), key_of(sized()));
    EXPECT_NE(key_of(sized(60, RequestedFormat::Webp)), key_of(sized({}, RequestedFormat::Webp)));
    EXPECT_NE(key_of(sized(80, RequestedFormat::Avif)), key_of(sized({}, RequestedFormat::Avif)));
    auto negotiated = negotiate(sized(81), {}, {}, "photo.jpg");
    ASSERT_TRUE(negotiated);
    EXPECT_EQ(negotiated->spec.quality, 81u);
}

TEST(NegotiateQuality, CompressLowersTheDefaultItIsComparedWith) {
    auto compressed = [](std::optional<std::uint32_t> q) {
        auto options = sized(q);
        options.compress = true;
        return options;
    };
    EXPECT_EQ(key_of(compressed(70)), key_of(compressed({})));
    EXPECT_NE(key_of(compressed(80)), key_of(compressed({})));
}

TEST(NegotiateQuality, TheCustomersDefaultQualityIsTheDefault) {
    CustomerPolicy policy;
    policy.default_quality = 72;
    EXPECT_EQ(key_of(sized(72), "photo.jpg", policy), key_of(sized(), "photo.jpg", policy));
    // 80 is no longer the default for this customer.
    EXPECT_NE(key_of(sized(80), "photo.jpg", policy), key_of(sized(), "photo.jpg", policy));
}

TEST(NegotiateDpr, ABoxEnlargedByDprIsCappedNotRefused) {
    auto options = sized();
    options.dpr = 2;
    auto negotiated = negotiate(options, {}, {}, "photo.jpg");
    ASSERT_TRUE(negotiated);
    EXPECT_EQ(negotiated->spec.width, 600u);
    EXPECT_TRUE(negotiated->spec.cap_to_limits);
    // The capped variant is not the entry of the same box asked without dpr, which may be
    // refused instead.
    auto plain = sized();
    plain.width = 600;
    EXPECT_NE(key_of(plain), negotiated->spec.canonical());
    EXPECT_FALSE(negotiate(plain, {}, {}, "photo.jpg")->spec.cap_to_limits);
}

} // namespace
} // namespace cdn::transform
