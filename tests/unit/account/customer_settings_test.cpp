#include "account/customer_settings.h"

#include <gtest/gtest.h>

#include <string>

#include "account/plan.h"

namespace cdn::account {
namespace {

using core::Errc;
using transform::RequestedFormat;

/** Expects `json` to be refused with `code`, naming `field` (when not empty). */
void expect_refused(const std::string& json, Errc code, const std::string& field) {
    auto parsed = parse_settings(json);
    ASSERT_FALSE(parsed) << json << " was accepted";
    EXPECT_EQ(parsed.error().code, code) << json << ": " << parsed.error().message;
    EXPECT_EQ(parsed.error().field, field) << json;
}

void expect_invalid(const std::string& json, const std::string& field) {
    expect_refused(json, Errc::InvalidSettings, field);
}

void expect_defaults(const CustomerSettings& s) {
    EXPECT_TRUE(s.allowed_domains.empty());
    EXPECT_FALSE(s.default_quality);
    EXPECT_FALSE(s.default_format);
    EXPECT_FALSE(s.require_signed_urls);
    EXPECT_FALSE(s.cache_ttl_seconds);
    EXPECT_FALSE(s.presets_only);
}

CustomerSettings parse_or_fail(const std::string& json) {
    auto parsed = parse_settings(json);
    if (!parsed) {
        ADD_FAILURE() << json << ": " << parsed.error().message;
        return {};
    }
    return *parsed;
}

TEST(ParseSettings, EmptyTextAndEmptyObjectGiveDefaults) {
    for (const std::string json : {"", "{}"}) {
        auto parsed = parse_settings(json);
        ASSERT_TRUE(parsed) << json;
        expect_defaults(*parsed);
        EXPECT_EQ(settings_to_json(*parsed), "{}");
    }
}

TEST(ParseSettings, EveryFieldRoundTripsThroughSettingsToJson) {
    const std::string json =
        R"({"allowed_domains":["example.com","*.cdn.example.org"],"default_quality":72,)"
        R"("default_format":"avif","require_signed_urls":true,"cache_ttl_seconds":600,)"
        R"("presets_only":true})";
    const auto s = parse_or_fail(json);
    EXPECT_EQ(s.allowed_domains, (std::vector<std::string>{"example.com", "*.cdn.example.org"}));
    EXPECT_EQ(s.default_quality, 72u);
    EXPECT_EQ(s.default_format, RequestedFormat::Avif);
    EXPECT_TRUE(s.require_signed_urls);
    EXPECT_EQ(s.cache_ttl_seconds, 600u);
    EXPECT_TRUE(s.presets_only);

    const auto again = parse_or_fail(settings_to_json(s));
    EXPECT_EQ(again.allowed_domains, s.allowed_domains);
    EXPECT_EQ(again.default_quality, s.default_quality);
    EXPECT_EQ(again.default_format, s.default_format);
    EXPECT_EQ(again.require_signed_urls, s.require_signed_urls);
    EXPECT_EQ(again.cache_ttl_seconds, s.cache_ttl_seconds);
    EXPECT_EQ(again.presets_only, s.presets_only);
    EXPECT_EQ(settings_to_json(again), settings_to_json(s));
}

TEST(ParseSettings, EveryFormatRoundTrips) {
    for (const std::string format : {"auto", "jpeg", "png", "webp", "avif", "gif"}) {
        const auto s = parse_or_fail(R"({"default_format":")" + format + R"("})");
        EXPECT_EQ(settings_to_json(s), R"({"default_format":")" + format + R"("})");
    }
}

TEST(ParseSettings, BoundaryValuesAreAccepted) {
    EXPECT_EQ(parse_or_fail(R"({"default_quality":1})").default_quality, 1u);
    EXPECT_EQ(parse_or_fail(R"({"default_quality":100})").default_quality, 100u);
    EXPECT_EQ(parse_or_fail(R"({"cache_ttl_seconds":0})").cache_ttl_seconds, 0u);
    EXPECT_EQ(parse_or_fail(R"({"cache_ttl_seconds":31536000})").cache_ttl_seconds,
              MAX_CACHE_TTL_SECONDS);
}

TEST(ParseSettings, UnknownMemberIsRefusedByName) {
    expect_invalid(R"({"default_quality":80,"colour":"red"})", "colour");
}

TEST(ParseSettings, BadDefaultQualityIsRefused) {
    for (const std::string value : {"0", "101", "\"80\"", "1.5", "-1", "true"}) {
        expect_invalid(R"({"default_quality":)" + value + "}", "default_quality");
    }
}

TEST(ParseSettings, BadCacheTtlIsRefused) {
    for (const std::string value : {"-1", "31536001", "18446744073709551615", "\"600\"", "6.5"}) {
        expect_invalid(R"({"cache_ttl_seconds":)" + value + "}", "cache_ttl_seconds");
    }
}

TEST(ParseSettings, BadDefaultFormatIsRefused) {
    for (const std::string value : {"\"json\"", "\"tiff\"", "5", "\"\"", "\"AVIF\""}) {
        expect_invalid(R"({"default_format":)" + value + "}", "default_format");
    }
}

TEST(ParseSettings, NonBooleanFlagsAreRefused) {
    expect_invalid(R"({"require_signed_urls":1})", "require_signed_urls");
    expect_invalid(R"({"presets_only":"true"})", "presets_only");
}

TEST(ParseSettings, BadAllowedDomainsAreRefused) {
    std::string many = R"({"allowed_domains":[)";
    for (int i = 0; i < 101; ++i) {
        many += (i == 0 ? "" : ",") + std::string("\"h") + std::to_string(i) + ".example.com\"";
    }
    many += "]}";
    for (const std::string& json : {
             std::string(R"({"allowed_domains":"example.com"})"),
             std::string(R"({"allowed_domains":{"a":"example.com"}})"),
             many,
             std::string(R"({"allowed_domains":["https://x.com"]})"),
             std::string(R"({"allowed_domains":["*"]})"),
             std::string(R"({"allowed_domains":["a.*.com"]})"),
             std::string(R"({"allowed_domains":[5]})"),
         }) {
        expect_invalid(json, "allowed_domains");
    }
}

TEST(ParseSettings, HundredDomainsAreAllowed) {
    std::string json = R"({"allowed_domains":[)";
    for (int i = 0; i < 100; ++i) {
        json += (i == 0 ? "" : ",") + std::string("\"h") + std::to_string(i) + ".example.com\"";
    }
    json += "]}";
    EXPECT_EQ(parse_or_fail(json).allowed_domains.size(), MAX_ALLOWED_DOMAINS);
}

TEST(ParseSettings, AllowedDomainsAreNormalisedAndDeduplicated) {
    const auto s = parse_or_fail(
        R"({"allowed_domains":["Example.COM.","example.com","*.Shop.Example.com","b.org"]})");
    EXPECT_EQ(s.allowed_domains,
              (std::vector<std::string>{"example.com", "*.shop.example.com", "b.org"}));
}

TEST(ParseSettings, NonObjectJsonIsInvalidJson) {
    for (const std::string json : {"[]", "null", "42", "\"{}\"", "{", "not json"}) {
        auto parsed = parse_settings(json);
        ASSERT_FALSE(parsed) << json;
        EXPECT_EQ(parsed.error().code, Errc::InvalidJson) << json;
    }
}

TEST(PatchSettings, AbsentMembersKeepTheirValue) {
    const auto current =
        parse_or_fail(R"({"default_quality":70,"presets_only":true,"allowed_domains":["a.com"]})");
    auto patched = patch_settings(current, R"({"default_quality":50})");
    ASSERT_TRUE(patched) << patched.error().message;
    EXPECT_EQ(patched->default_quality, 50u);
    EXPECT_TRUE(patched->presets_only);
    EXPECT_EQ(patched->allowed_domains, std::vector<std::string>{"a.com"});
}

TEST(PatchSettings, NullResetsEachSettingToItsDefault) {
    const auto current = parse_or_fail(
        R"({"allowed_domains":["a.com"],"default_quality":72,"default_format":"webp",)"
        R"("require_signed_urls":true,"cache_ttl_seconds":600,"presets_only":true})");
    auto patched = patch_settings(
        current, R"({"allowed_domains":null,"default_quality":null,"default_format":null,)"
                 R"("require_signed_urls":null,"cache_ttl_seconds":null,"presets_only":null})");
    ASSERT_TRUE(patched) << patched.error().message;
    expect_defaults(*patched);
}

TEST(PatchSettings, FailingPatchIsAnErrorNamingTheField) {
    const auto current = parse_or_fail(R"({"default_quality":70})");
    auto patched = patch_settings(current, R"({"presets_only":true,"default_quality":0})");
    ASSERT_FALSE(patched);
    EXPECT_EQ(patched.error().code, Errc::InvalidSettings);
    EXPECT_EQ(patched.error().field, "default_quality");
    // The input is untouched: nothing of the patch was applied to it.
    EXPECT_EQ(current.default_quality, 70u);
    EXPECT_FALSE(current.presets_only);
}

TEST(PatchSettings, NonObjectPatchIsInvalidJson) {
    auto patched = patch_settings(CustomerSettings{}, "[1]");
    ASSERT_FALSE(patched);
    EXPECT_EQ(patched.error().code, Errc::InvalidJson);
}

TEST(CheckSettingsPlan, SignedUrlsNeedAPlanWithThem) {
    const auto plans = default_plans();
    const auto s = parse_or_fail(R"({"require_signed_urls":true})");
    auto checked = check_settings_plan(s, plans.at("free"));
    ASSERT_FALSE(checked);
    EXPECT_EQ(checked.error().code, Errc::FeatureNotInPlan);
    EXPECT_EQ(checked.error().field, "require_signed_urls");
    EXPECT_TRUE(check_settings_plan(s, plans.at("pro")));
}

TEST(CheckSettingsPlan, AvifDefaultNeedsAPlanWithAvif) {
    const auto plans = default_plans();
    const auto s = parse_or_fail(R"({"default_format":"avif"})");
    auto checked = check_settings_plan(s, plans.at("free"));
    ASSERT_FALSE(checked);
    EXPECT_EQ(checked.error().code, Errc::FeatureNotInPlan);
    EXPECT_EQ(checked.error().field, "default_format");
    EXPECT_TRUE(check_settings_plan(s, plans.at("pro")));
    EXPECT_TRUE(
        check_settings_plan(parse_or_fail(R"({"default_format":"webp"})"), plans.at("free")));
}

TEST(CheckSettingsPlan, EverySettingFitsPro) {
    const auto s = parse_or_fail(
        R"({"allowed_domains":["a.com"],"default_quality":72,"default_format":"avif",)"
        R"("require_signed_urls":true,"cache_ttl_seconds":600,"presets_only":true})");
    EXPECT_TRUE(check_settings_plan(s, default_plans().at("pro")));
    EXPECT_TRUE(check_settings_plan(CustomerSettings{}, default_plans().at("free")));
}

TEST(CacheControlFor, DefaultAndOneYearAreImmutable) {
    EXPECT_EQ(cache_control_for(CustomerSettings{}), "public, max-age=31536000, immutable");
    CustomerSettings year;
    year.cache_ttl_seconds = 31'536'000;
    EXPECT_EQ(cache_control_for(year), "public, max-age=31536000, immutable");
}

TEST(CacheControlFor, ShorterTtlIsAPlainMaxAge) {
    CustomerSettings s;
    s.cache_ttl_seconds = 600;
    EXPECT_EQ(cache_control_for(s), "public, max-age=600");
}

TEST(CacheControlFor, ZeroIsNoCache) {
    CustomerSettings s;
    s.cache_ttl_seconds = 0;
    EXPECT_EQ(cache_control_for(s), "no-cache");
}

TEST(CacheControlWithin, MaxAgeIsTheSmallerOfTtlAndTimeLeftNeverImmutable) {
    EXPECT_EQ(cache_control_within(CustomerSettings{}, 120), "public, max-age=120");
    EXPECT_EQ(cache_control_within(CustomerSettings{}, 40'000'000), "public, max-age=31536000");
    CustomerSettings s;
    s.cache_ttl_seconds = 600;
    EXPECT_EQ(cache_control_within(s, 120), "public, max-age=120");
    EXPECT_EQ(cache_control_within(s, 3600), "public, max-age=600");
    EXPECT_EQ(cache_control_within(s, -5), "public, max-age=0");
    s.cache_ttl_seconds = 0;
    EXPECT_EQ(cache_control_within(s, 120), "no-cache");
}

} // namespace
} // namespace cdn::account
