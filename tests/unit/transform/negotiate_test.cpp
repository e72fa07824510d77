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

Negotiated negotiated_or_fail(const DeliveryOptions& options, const ClientHints& hints,
                              const CustomerPolicy& policy) {
    auto negotiated = negotiate(options, hints, policy);
    EXPECT_TRUE(negotiated) << (negotiated ? "" : negotiated.error().message);
    return negotiated ? std::move(*negotiated) : Negotiated{};
}

TEST(NegotiateFormat, AutoFollowsAcceptAndTheAvifGateAndVariesOnAccept) {
    const auto options = sized({}, RequestedFormat::Auto);
    const ClientHints both{.accept = "image/avif,image/webp,*/*"};
    CustomerPolicy avif_plan{.avif_allowed = true};
    EXPECT_EQ(negotiated_or_fail(options, both, avif_plan).spec.format, FormatChoice::Avif);
    EXPECT_EQ(negotiated_or_fail(options, both, {}).spec.format, FormatChoice::Webp);
    const ClientHints refuses_avif{.accept = "image/avif;q=0, image/webp"};
    EXPECT_EQ(negotiated_or_fail(options, refuses_avif, avif_plan).spec.format, FormatChoice::Webp);
    const auto neither = negotiated_or_fail(options, {.accept = "image/*"}, avif_plan);
    EXPECT_EQ(neither.spec.format, FormatChoice::JpegOrPngByAlpha);
    EXPECT_EQ(neither.vary, std::vector<std::string>{"Accept"});
    // An explicit format does not depend on the request's headers.
    EXPECT_TRUE(negotiated_or_fail(sized({}, RequestedFormat::Webp), both, {}).vary.empty());
}

TEST(NegotiateFormat, ExplicitAvifOutsideThePlanIsFeatureNotInPlan) {
    const auto refused = negotiate(sized({}, RequestedFormat::Avif), {}, {});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, core::Errc::FeatureNotInPlan);
}

TEST(NegotiateFormat, TheCustomersDefaultFormatAppliesWhenTheUrlNamesNone) {
    const CustomerPolicy webp_default{.default_format = RequestedFormat::Webp};
    EXPECT_EQ(negotiated_or_fail(sized(), {}, webp_default).spec.format, FormatChoice::Webp);
    EXPECT_EQ(negotiated_or_fail(sized({}, RequestedFormat::Png), {}, webp_default).spec.format,
              FormatChoice::Png);
}

TEST(NegotiateDimension, ABoxOverThePlansMaximumIsRefusedNamingTheParameter) {
    DeliveryOptions options;
    options.height = 3000;
    const auto refused = negotiate(options, {}, {.max_dimension = 2048});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, core::Errc::DimensionTooLarge);
    EXPECT_NE(refused.error().message.find("height"), std::string::npos);
}

TEST(NegotiateHints, ClientHintsScaleTheBoxOnlyWithoutOptionsAndAreVariedOn) {
    const ClientHints hints{.dpr = "2", .dpr_header = "Sec-CH-DPR"};
    const auto hinted = negotiated_or_fail(sized(), hints, {});
    EXPECT_EQ(hinted.spec.width, 600u);
    EXPECT_EQ(hinted.vary, std::vector<std::string>{"Sec-CH-DPR"});
    auto explicit_dpr = sized();
    explicit_dpr.dpr = 1.0;
    const auto kept = negotiated_or_fail(explicit_dpr, hints, {});
    EXPECT_EQ(kept.spec.width, 300u);
    EXPECT_TRUE(kept.vary.empty());
    // A width hint gives the box when the URL has none; it is already in device pixels.
    const ClientHints width{
        .dpr = "2", .dpr_header = "DPR", .width = "500", .width_header = "Width"};
    const auto by_width = negotiated_or_fail(DeliveryOptions{}, width, {});
    EXPECT_EQ(by_width.spec.width, 500u);
    EXPECT_EQ(by_width.vary, (std::vector<std::string>{"DPR", "Width"}));
    // A hint that is not a positive number is ignored.
    EXPECT_TRUE(negotiated_or_fail(sized(), {.dpr = "-1", .dpr_header = "DPR"}, {}).vary.empty());
}

} // namespace
} // namespace cdn::transform
