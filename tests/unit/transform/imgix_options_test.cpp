// imgix's URL parameters (issue 15, docs/compat.md): each alias gives the same options and the
// same cache key as our canonical spelling; client identification is ignored; what we lack is
// 400 unsupported_parameter naming it.
#include "transform/negotiate.h"
#include "transform/options.h"

#include <gtest/gtest.h>

#include "parse_options.h"

#include <string>
#include <utility>
#include <vector>

namespace cdn::transform {
namespace {

using core::Errc;
using testing_support::Params;
using testing_support::parse;

/** The canonical options string and the cache-key spec of a request, "" when refused. */
struct Canonical {
    std::string options;
    std::string key;
    bool operator==(const Canonical&) const = default;
};

Canonical canonical(const Params& params) {
    const auto options = parse(params);
    if (!options) {
        ADD_FAILURE() << "refused: " << options.error().message;
        return {};
    }
    const auto negotiated = negotiate(*options, {}, {.avif_allowed = true}, "photo.jpg");
    if (!negotiated) {
        ADD_FAILURE() << "not negotiated: " << negotiated.error().message;
        return {};
    }
    return {canonical_string(*options), negotiated->spec.canonical()};
}

void PrintTo(const Canonical& c, std::ostream* os) { *os << c.options << " | " << c.key; }

struct AliasCase {
    Params imgix;
    Params ours;
};

class ImgixAlias : public testing::TestWithParam<AliasCase> {};

TEST_P(ImgixAlias, GivesTheCanonicalOptionsAndCacheKey) {
    EXPECT_EQ(canonical(GetParam().imgix), canonical(GetParam().ours));
}

INSTANTIATE_TEST_SUITE_P(
    Imgix, ImgixAlias,
    testing::Values(
        AliasCase{{{"w", "640"}, {"ixlib", "js-3.8.0"}}, {{"width", "640"}}},
        AliasCase{{{"ixid", "MnwxMjA3fDB8MXxzZWFyY2g"}, {"w", "640"}}, {{"width", "640"}}},
        AliasCase{{{"fm", "jpg"}}, {{"format", "jpeg"}}},
        AliasCase{{{"auto", "compress,format"}}, {{"format", "auto"}, {"auto", "compress"}}},
        AliasCase{{{"auto", "format,compress"}}, {{"auto", "compress"}, {"format", "auto"}}},
        AliasCase{{{"dpr", "2"}, {"w", "300"}}, {{"width", "300"}, {"dpr", "2.0"}}},
        AliasCase{{{"q", "60"}}, {{"quality", "60"}}},
        AliasCase{{{"bg", "fff"}, {"fit", "fill"}, {"w", "9"}},
                  {{"background", "ffffff"}, {"fit", "pad"}, {"width", "9"}}},
        AliasCase{{{"blur", "20"}}, {{"blur", "20"}}},
        AliasCase{{{"sharp", "35"}}, {{"sharpen", "3.5"}}},
        AliasCase{{{"sharp", "100"}}, {{"sharpen", "10"}}},
        AliasCase{{{"flip", "hv"}}, {{"flip", "hv"}}},
        AliasCase{{{"orient", "90"}}, {{"rotate", "90"}}},
        AliasCase{{{"rot", "270"}}, {{"rotate", "270"}}},
        AliasCase{{{"rect", "10,20,300,200"}}, {{"rect", "10,20,300,200"}}},
        AliasCase{{{"trim", "color"}, {"trim-tol", "25"}}, {{"trim", "25"}}},
        AliasCase{{{"trim-tol", "7"}, {"trim", "auto"}}, {{"trim", "7"}}},
        AliasCase{{{"trim", "color"}}, {{"trim", "1"}}},
        AliasCase{{{"crop", "top,left"}, {"fit", "crop"}, {"w", "9"}},
                  {{"gravity", "northwest"}, {"fit", "crop"}, {"width", "9"}}},
        AliasCase{{{"crop", "bottom"}}, {{"gravity", "south"}}},
        AliasCase{{{"crop", "entropy"}}, {{"gravity", "entropy"}}},
        AliasCase{{{"crop", "focalpoint"}, {"fp-x", "0.2"}, {"fp-y", "0.7"}},
                  {{"gravity", "0.2x0.7"}}},
        AliasCase{{{"w", "640"}, {"ch", "Width,DPR"}}, {{"width", "640"}}}));

TEST(ImgixProgressiveJpeg, IsAJpegWithACacheKeyOfItsOwn) {
    const auto pjpg = canonical({{"fm", "pjpg"}});
    const auto jpg = canonical({{"fm", "jpg"}});
    EXPECT_EQ(pjpg.options, "format=pjpg");
    EXPECT_NE(pjpg.key, jpg.key);
    const auto options = parse({{"fm", "pjpg"}});
    ASSERT_TRUE(options);
    EXPECT_EQ(options->format, RequestedFormat::Jpeg);
    EXPECT_EQ(options->jpeg_scan, JpegScan::Progressive);
}

TEST(BaselineJpeg, IsAJpegWithACacheKeyOfItsOwn) {
    // Cloudflare's `format=baseline-jpeg` (our canonical names are Cloudflare's).
    const auto baseline = canonical({{"format", "baseline-jpeg"}});
    const auto jpeg = canonical({{"format", "jpeg"}});
    EXPECT_EQ(baseline.options, "format=baseline-jpeg");
    EXPECT_NE(baseline.key, jpeg.key);
    EXPECT_NE(baseline.key, canonical({{"fm", "pjpg"}}).key);
    const auto options = parse({{"format", "baseline-jpeg"}});
    ASSERT_TRUE(options);
    EXPECT_EQ(options->format, RequestedFormat::Jpeg);
    EXPECT_EQ(options->jpeg_scan, JpegScan::Baseline);
}

TEST(ImgixPad, IsAnOptionOfItsOwnInTheCacheKey) {
    const auto padded = canonical({{"w", "100"}, {"pad", "10"}});
    EXPECT_EQ(padded.options, "width=100&pad=10");
    EXPECT_NE(padded.key, canonical({{"w", "100"}}).key);
    // pad=0 is no border: the same as leaving it out.
    EXPECT_EQ(canonical({{"w", "100"}, {"pad", "0"}}), canonical({{"w", "100"}}));
}

TEST(ImgixClientHints, ChNamesTheAcceptChHeaderInTheOrderGiven) {
    const auto both = parse({{"ch", "Width,DPR"}});
    const auto dpr = parse({{"ch", "DPR,Save-Data"}});
    ASSERT_TRUE(both);
    ASSERT_TRUE(dpr);
    EXPECT_EQ(both->accept_ch, "Sec-CH-Width, Sec-CH-DPR");
    EXPECT_EQ(dpr->accept_ch, "Sec-CH-DPR");
    // Asking for hints is not a transform: the original stays the original.
    EXPECT_FALSE(both->wants_transform());
}

TEST(ImgixClientIdentification, IsNotATransform) {
    const auto o = parse({{"ixlib", "js-3.8.0"}});
    ASSERT_TRUE(o);
    EXPECT_FALSE(o->wants_transform());
    EXPECT_EQ(canonical_string(*o), "");
}

struct RefusalCase {
    Params params;
    Errc code;
    std::string message;
};

class ImgixRefusal : public testing::TestWithParam<RefusalCase> {};

TEST_P(ImgixRefusal, NamesTheParameter) {
    const auto& c = GetParam();
    const auto o = parse(c.params);
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().code, c.code);
    EXPECT_EQ(o.error().message, c.message);
}

INSTANTIATE_TEST_SUITE_P(
    Imgix, ImgixRefusal,
    testing::Values(
        RefusalCase{{{"fit", "facearea"}},
                    Errc::UnsupportedParameter,
                    "fit=facearea is not supported: face detection is not available"},
        RefusalCase{{{"fit", "clamp"}},
                    Errc::UnsupportedParameter,
                    "fit=clamp is not supported: edge-pixel extension is not available"},
        RefusalCase{{{"crop", "faces,top"}},
                    Errc::UnsupportedParameter,
                    "crop=faces is not supported: face and edge detection are not available"},
        RefusalCase{{{"fm", "jxl"}},
                    Errc::UnsupportedParameter,
                    "format=jxl is not supported: no such output format here"},
        RefusalCase{{{"txt", "Hello"}},
                    Errc::UnsupportedParameter,
                    "imgix parameter 'txt' is not supported: text and typesetting"},
        RefusalCase{{{"mark-align", "top"}},
                    Errc::UnsupportedParameter,
                    "imgix parameter 'mark-align' is not supported: watermarks"},
        RefusalCase{{{"pad-left", "4"}},
                    Errc::UnsupportedParameter,
                    "imgix parameter 'pad-left' is not supported: borders and per-side padding"},
        RefusalCase{{{"pad", "1001"}}, Errc::InvalidParameter,
                    "pad must be an integer from 0 to 1000"},
        RefusalCase{{{"nonsense", "1"}}, Errc::UnknownParameter, "unknown parameter 'nonsense'"},
        // An option and its alias together stays 400 invalid_parameter.
        RefusalCase{{{"sharpen", "1"}, {"sharp", "10"}},
                    Errc::InvalidParameter,
                    "sharpen (or its alias sharp) may be given only once"},
        RefusalCase{{{"rotate", "90"}, {"orient", "90"}},
                    Errc::InvalidParameter,
                    "rotate (or its alias orient) may be given only once"},
        RefusalCase{{{"crop", "top"}, {"gravity", "north"}},
                    Errc::InvalidParameter,
                    "gravity (or its alias g) may be given only once"},
        RefusalCase{{{"sharp", "101"}}, Errc::InvalidParameter,
                    "sharp must be a number from 0 to 100"},
        RefusalCase{{{"orient", "45"}}, Errc::InvalidParameter,
                    "orient must be one of 0, 90, 180, 270"},
        RefusalCase{{{"crop", "top,bottom"}},
                    Errc::InvalidParameter,
                    "crop must be top, bottom, left, right (one per axis, comma-separated), "
                    "entropy or focalpoint"},
        RefusalCase{{{"trim-tol", "5"}}, Errc::InvalidParameter,
                    "trim-tol needs trim=color or trim=auto"},
        RefusalCase{{{"trim", "5"}, {"trim-tol", "5"}}, Errc::InvalidParameter,
                    "trim-tol needs trim=color or trim=auto"},
        RefusalCase{{{"ch", "Viewport-Width"}}, Errc::InvalidParameter,
                    "ch must be a list of Width, DPR and Save-Data"}));

} // namespace
} // namespace cdn::transform
