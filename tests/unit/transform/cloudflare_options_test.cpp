#include "transform/cloudflare_options.h"

#include <gtest/gtest.h>

#include <string>

#include "transform/options.h"

namespace cdn::transform {
namespace {

using core::Errc;

constexpr std::uint32_t MAX_DIMENSION = 8192;

/** The canonical string the query form gives for what `options` translates to, or the
 *  translation's error message prefixed with "error: ". */
std::string canonical_of(std::string_view options) {
    auto translated = translate_cloudflare_options(options);
    if (!translated) {
        return "error: " + translated.error().message;
    }
    auto parsed = parse_delivery_options(translated->params, MAX_DIMENSION);
    if (!parsed) {
        return "error: " + parsed.error().message;
    }
    return canonical_string(*parsed);
}

struct Case {
    std::string cloudflare;
    std::string query;
};

class MatchesQueryForm : public testing::TestWithParam<Case> {};

// Each Cloudflare options string gives exactly the options of its query-form twin: one
// cache entry for both.
TEST_P(MatchesQueryForm, SameCanonicalOptions) {
    const auto& c = GetParam();
    auto query = core::parse_query_string(c.query);
    ASSERT_TRUE(query);
    auto expected = parse_delivery_options(*query, MAX_DIMENSION);
    ASSERT_TRUE(expected) << expected.error().message;
    EXPECT_EQ(canonical_of(c.cloudflare), canonical_string(*expected)) << c.cloudflare;
}

INSTANTIATE_TEST_SUITE_P(
    Cloudflare, MatchesQueryForm,
    testing::Values(Case{"width=640", "w=640"}, Case{"w=640,h=480", "width=640&height=480"},
                    Case{"width=80,quality=75", "w=80&q=75"}, Case{"q=50", "quality=50"},
                    Case{"quality=high", "q=90"}, Case{"quality=medium-high", "q=80"},
                    Case{"quality=medium-low", "q=65"}, Case{"quality=low", "q=50"},
                    Case{"format=auto", "fm=auto"}, Case{"f=webp", "format=webp"},
                    Case{"format=baseline-jpeg", "format=baseline-jpeg"},
                    Case{"fit=cover,gravity=0.5x0.3,width=100,height=100",
                         "fit=cover&gravity=0.5x0.3&w=100&h=100"},
                    Case{"g=auto,fit=crop,w=10,h=10", "gravity=auto&fit=crop&w=10&h=10"},
                    Case{"gravity=left,fit=cover,w=5,h=5", "gravity=left&fit=cover&w=5&h=5"},
                    Case{"dpr=2,width=100", "dpr=2&w=100"}, Case{"sharpen=2", "sharpen=2"},
                    Case{"blur=50", "blur=50"}, Case{"rotate=90", "rotate=90"},
                    Case{"flip=hv", "flip=hv"}, Case{"background=%23ff0000,fit=pad,w=9,h=9",
                                                      "bg=ff0000&fit=pad&w=9&h=9"},
                    Case{"background=#00ff0080,w=3", "background=00ff0080&w=3"},
                    Case{"metadata=keep,w=1", "metadata=keep&w=1"},
                    Case{"anim=false", "anim=false"},
                    Case{"trim.left=10,trim.top=20,trim.width=30,trim.height=40",
                         "rect=10,20,30,40"},
                    Case{"trim.width=30,trim.height=40", "rect=0,0,30,40"},
                    Case{"trim=0;0;0;0,width=7", "w=7"},
                    Case{"onerror=redirect,width=7", "w=7"},
                    Case{"compression=fast,width=7", "w=7"},
                    Case{"upscale=interpolate,fit=contain,w=9", "fit=contain&w=9"},
                    Case{"width=auto,format=webp", "format=webp"}));

TEST(CloudflareOptions, OnErrorRedirectIsAFlagNotAnOption) {
    auto with = translate_cloudflare_options("width=10,onerror=redirect");
    ASSERT_TRUE(with);
    EXPECT_TRUE(with->redirect_on_error);
    auto without = translate_cloudflare_options("width=10");
    ASSERT_TRUE(without);
    EXPECT_FALSE(without->redirect_on_error);
}

struct Refusal {
    std::string options;
    Errc code;
    std::string named;
};

class Refuses : public testing::TestWithParam<Refusal> {};

// Every refusal is a 400 whose message names what was refused.
TEST_P(Refuses, NamingTheOption) {
    const auto& c = GetParam();
    auto translated = translate_cloudflare_options(c.options);
    ASSERT_FALSE(translated) << c.options;
    EXPECT_EQ(translated.error().code, c.code) << c.options;
    EXPECT_NE(translated.error().message.find(c.named), std::string::npos)
        << translated.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cloudflare, Refuses,
    testing::Values(
        Refusal{"width=10,brightness=0.5", Errc::UnsupportedParameter, "'brightness'"},
        Refusal{"contrast=2", Errc::UnsupportedParameter, "'contrast'"},
        Refusal{"gamma=2", Errc::UnsupportedParameter, "'gamma'"},
        Refusal{"saturation=0", Errc::UnsupportedParameter, "'saturation'"},
        Refusal{"zoom=0.5", Errc::UnsupportedParameter, "'zoom'"},
        Refusal{"segment=foreground", Errc::UnsupportedParameter, "'segment'"},
        Refusal{"slow-connection-quality=30", Errc::UnsupportedParameter,
                "'slow-connection-quality'"},
        Refusal{"border=10", Errc::UnsupportedParameter, "'border'"},
        Refusal{"upscale=generate", Errc::UnsupportedParameter, "'upscale=generate'"},
        Refusal{"gravity=face,fit=cover", Errc::UnsupportedParameter, "'gravity=face'"},
        Refusal{"trim=20;30;20;0", Errc::UnsupportedParameter, "'trim=20;30;20;0'"},
        Refusal{"trim.left=5", Errc::UnsupportedParameter, "trim.width and trim.height"},
        Refusal{"trim.width=x,trim.height=1", Errc::InvalidParameter, "'trim.width'"},
        Refusal{"trim.width=1,trim.width=2,trim.height=1", Errc::InvalidParameter, "'trim.width'"},
        Refusal{"onerror=ignore", Errc::InvalidParameter, "'onerror'"},
        Refusal{"compression=slow", Errc::InvalidParameter, "'compression'"},
        Refusal{"ixlib=js-3.8.0", Errc::UnknownParameter, "'ixlib'"},
        Refusal{"width", Errc::InvalidParameter, "'width'"},
        Refusal{"=3", Errc::InvalidParameter, "'=3'"},
        Refusal{"", Errc::InvalidParameter, "at least one option"}));

// Values are checked by the query form's parser, so both forms answer alike.
TEST(CloudflareOptions, ValuesAreCheckedAsInTheQueryForm) {
    EXPECT_TRUE(canonical_of("quality=best").starts_with("error: quality"));
    EXPECT_NE(canonical_of("width=10,w=20").find("only once"), std::string::npos);
    EXPECT_TRUE(canonical_of("rotate=45").starts_with("error: rotate"));
}

} // namespace
} // namespace cdn::transform
