#include "transform/options.h"

#include <gtest/gtest.h>

#include "core/strings.h"
#include "parse_options.h"

#include <string>
#include <utility>
#include <vector>

namespace cdn::transform {
namespace {

using core::Errc;
using testing_support::MAX_DIMENSION;
using testing_support::Params;
using testing_support::parse;

/** The canonical string of one accepted parameter, or "" when it was rejected. */
std::string canonical_of(const std::string& name, const std::string& value) {
    const auto options = parse({{name, value}});
    return options ? canonical_string(*options) : std::string();
}

// --- Accepted values: each row is one parameter and the canonical string it must give. ---

struct ValidCase {
    std::string name;
    std::string value;
    std::string canonical;
};

class AcceptsValue : public testing::TestWithParam<ValidCase> {};

TEST_P(AcceptsValue, GivesCanonicalString) {
    const auto& c = GetParam();
    const auto options = parse({{c.name, c.value}});
    ASSERT_TRUE(options) << c.name << "=" << c.value << ": " << options.error().message;
    EXPECT_EQ(canonical_string(*options), c.canonical);
}

INSTANTIATE_TEST_SUITE_P(
    Options, AcceptsValue,
    testing::Values(
        ValidCase{"width", "800", "width=800"}, ValidCase{"w", "800", "width=800"},
        ValidCase{"width", "1", "width=1"}, ValidCase{"width", "8192", "width=8192"},
        ValidCase{"width", "0800", "width=800"}, ValidCase{"height", "600", "height=600"},
        ValidCase{"h", "600", "height=600"}, ValidCase{"dpr", "2", "dpr=2"},
        ValidCase{"dpr", "2.0", "dpr=2"}, ValidCase{"dpr", "1.5", "dpr=1.5"},
        ValidCase{"dpr", "1", "dpr=1"}, ValidCase{"dpr", "4", "dpr=4"},
        ValidCase{"dpr", "1.3333333333", "dpr=1.333333"},
        ValidCase{"fit", "scale-down", "fit=scale-down"},
        ValidCase{"fit", "contain", "fit=contain"}, ValidCase{"fit", "cover", "fit=cover"},
        ValidCase{"fit", "crop", "fit=crop"}, ValidCase{"fit", "pad", "fit=pad"},
        ValidCase{"fit", "squeeze", "fit=squeeze"}, ValidCase{"fit", "max", "fit=scale-down"},
        ValidCase{"fit", "clip", "fit=contain"}, ValidCase{"fit", "min", "fit=crop"},
        ValidCase{"fit", "fill", "fit=pad"}, ValidCase{"fit", "scale", "fit=squeeze"},
        ValidCase{"gravity", "center", "gravity=center"}, ValidCase{"g", "north", "gravity=north"},
        ValidCase{"gravity", "top", "gravity=north"},
        ValidCase{"gravity", "south", "gravity=south"},
        ValidCase{"gravity", "bottom", "gravity=south"},
        ValidCase{"gravity", "east", "gravity=east"}, ValidCase{"gravity", "right", "gravity=east"},
        ValidCase{"gravity", "west", "gravity=west"}, ValidCase{"gravity", "left", "gravity=west"},
        ValidCase{"gravity", "northeast", "gravity=northeast"},
        ValidCase{"gravity", "northwest", "gravity=northwest"},
        ValidCase{"gravity", "southeast", "gravity=southeast"},
        ValidCase{"gravity", "southwest", "gravity=southwest"},
        ValidCase{"gravity", "auto", "gravity=auto"},
        ValidCase{"gravity", "entropy", "gravity=entropy"},
        ValidCase{"gravity", "0.25x0.75", "gravity=0.25x0.75"},
        ValidCase{"gravity", "0x1", "gravity=0x1"},
        ValidCase{"gravity", "1.0x0.50", "gravity=1x0.5"},
        ValidCase{"fp-x", "0.3", "gravity=0.3x0.5"}, ValidCase{"fp-y", "0.2", "gravity=0.5x0.2"},
        ValidCase{"quality", "1", "quality=1"}, ValidCase{"q", "100", "quality=100"},
        ValidCase{"format", "auto", "format=auto"}, ValidCase{"fm", "jpeg", "format=jpeg"},
        ValidCase{"format", "jpg", "format=jpeg"}, ValidCase{"format", "png", "format=png"},
        ValidCase{"format", "webp", "format=webp"}, ValidCase{"format", "avif", "format=avif"},
        ValidCase{"format", "gif", "format=gif"}, ValidCase{"format", "json", "format=json"},
        ValidCase{"auto", "format", "format=auto"}, ValidCase{"auto", "compress", "auto=compress"},
        ValidCase{"auto", "format,compress", "format=auto&auto=compress"},
        ValidCase{"auto", "compress,format", "format=auto&auto=compress"},
        ValidCase{"rect", "0,0,1,1", "rect=0,0,1,1"},
        ValidCase{"crop-rect", "10,20,300,400", "rect=10,20,300,400"},
        ValidCase{"rotate", "0", "rotate=0"}, ValidCase{"rot", "90", "rotate=90"},
        ValidCase{"rotate", "180", "rotate=180"}, ValidCase{"rotate", "270", "rotate=270"},
        ValidCase{"flip", "h", "flip=h"}, ValidCase{"flip", "v", "flip=v"},
        ValidCase{"flip", "hv", "flip=hv"}, ValidCase{"flip", "vh", "flip=hv"},
        ValidCase{"blur", "0.3", "blur=0.3"}, ValidCase{"blur", "250", "blur=250"},
        ValidCase{"sharpen", "0", "sharpen=0"}, ValidCase{"sharpen", "10", "sharpen=10"},
        ValidCase{"sharpen", "2.50", "sharpen=2.5"}, ValidCase{"trim", "1", "trim=1"},
        ValidCase{"trim", "100", "trim=100"}, ValidCase{"background", "f0a", "background=ff00aaff"},
        ValidCase{"bg", "FF00AA", "background=ff00aaff"},
        ValidCase{"background", "11223344", "background=11223344"},
        ValidCase{"metadata", "none", "metadata=none"},
        ValidCase{"metadata", "copyright", "metadata=copyright"},
        ValidCase{"metadata", "keep", "metadata=keep"}, ValidCase{"anim", "true", "anim=true"},
        ValidCase{"anim", "false", "anim=false"}, ValidCase{"anim", "1", "anim=true"},
        ValidCase{"anim", "0", "anim=false"}, ValidCase{"lossless", "true", "lossless=true"},
        ValidCase{"lossless", "0", "lossless=false"},
        ValidCase{"preset", "thumb_2x-A", "preset=thumb_2x-A"},
        ValidCase{"preset", std::string(64, 'p'), "preset=" + std::string(64, 'p')},
        ValidCase{"v", "3", "v=3"}, ValidCase{"v", "", "v="},
        ValidCase{"v", std::string(64, 'x'), "v=" + std::string(64, 'x')},
        // s and exp change nothing in the image, so they stay out of the canonical string.
        ValidCase{"s", "abc123", ""}, ValidCase{"sig", "abc123", ""},
        ValidCase{"exp", "1700000000", ""}));

// --- Rejected values: each row is one parameter, the error and the exact public message. ---

struct InvalidCase {
    std::string name;
    std::string value;
    Errc code;
    std::string message;
};

class RejectsValue : public testing::TestWithParam<InvalidCase> {};

TEST_P(RejectsValue, NamesTheOptionAndItsRange) {
    const auto& c = GetParam();
    const auto options = parse({{c.name, c.value}});
    ASSERT_FALSE(options) << c.name << "=" << c.value << " was accepted";
    EXPECT_EQ(options.error().code, c.code) << c.name << "=" << c.value;
    EXPECT_EQ(options.error().message, c.message) << c.name << "=" << c.value;
}

const std::string WIDTH = "width must be an integer from 1 to 8192";
const std::string HEIGHT = "height must be an integer from 1 to 8192";
const std::string DPR = "dpr must be a number from 1 to 4";
const std::string FIT = "fit must be one of scale-down, contain, cover, crop, pad, squeeze";
const std::string GRAVITY = "gravity must be one of center, north, south, east, west, northeast, "
                            "northwest, southeast, southwest, auto, entropy, or a focal point XxY "
                            "with X and Y from 0 to 1";
const std::string QUALITY = "quality must be an integer from 1 to 100";
const std::string FORMAT = "format must be one of auto, jpeg, png, webp, avif, gif, json";
const std::string AUTO = "auto must be format, compress, or format,compress";
const std::string RECT = "rect must be x,y,w,h: non-negative integers with w and h at least 1";
const std::string ROTATE = "rotate must be one of 0, 90, 180, 270";
const std::string FLIP = "flip must be one of h, v, hv";
const std::string BLUR = "blur must be a number from 0.3 to 250";
const std::string SHARPEN = "sharpen must be a number from 0 to 10";
const std::string TRIM = "trim must be an integer from 1 to 100";
const std::string BACKGROUND = "background must be a hex color RGB, RRGGBB or RRGGBBAA";
const std::string METADATA = "metadata must be one of none, copyright, keep";
const std::string ANIM = "anim must be one of true, false";
const std::string LOSSLESS = "lossless must be one of true, false";
const std::string PRESET =
    "preset must be a name of 1 to 64 characters from A-Z, a-z, 0-9, _ and -";
const std::string TOO_WIDE = "width must be at most 8192 (the maximum dimension)";
const std::string TOO_HIGH = "height must be at most 8192 (the maximum dimension)";

constexpr auto INVALID = Errc::InvalidParameter;
constexpr auto TOO_LARGE = Errc::DimensionTooLarge;

INSTANTIATE_TEST_SUITE_P(
    Options, RejectsValue,
    testing::Values(
        InvalidCase{"width", "0", INVALID, WIDTH}, InvalidCase{"width", "-5", INVALID, WIDTH},
        InvalidCase{"w", "12px", INVALID, WIDTH}, InvalidCase{"width", "1e3", INVALID, WIDTH},
        InvalidCase{"width", "+100", INVALID, WIDTH}, InvalidCase{"width", "", INVALID, WIDTH},
        InvalidCase{"width", "10.5", INVALID, WIDTH}, InvalidCase{"width", " 10", INVALID, WIDTH},
        InvalidCase{"width", "abc", INVALID, WIDTH},
        InvalidCase{"width", "8193", TOO_LARGE, TOO_WIDE},
        InvalidCase{"w", "99999999999999999999999", TOO_LARGE, TOO_WIDE},
        InvalidCase{"height", "0", INVALID, HEIGHT}, InvalidCase{"h", "x", INVALID, HEIGHT},
        InvalidCase{"h", "10000", TOO_LARGE, TOO_HIGH}, InvalidCase{"dpr", "0.5", INVALID, DPR},
        InvalidCase{"dpr", "4.01", INVALID, DPR}, InvalidCase{"dpr", "nan", INVALID, DPR},
        InvalidCase{"dpr", "inf", INVALID, DPR}, InvalidCase{"dpr", "", INVALID, DPR},
        InvalidCase{"dpr", "2e0", INVALID, DPR}, InvalidCase{"dpr", "-2", INVALID, DPR},
        InvalidCase{"dpr", "+2", INVALID, DPR}, InvalidCase{"dpr", "2.", INVALID, DPR},
        InvalidCase{"dpr", "1.5.1", INVALID, DPR}, InvalidCase{"fit", "stretch", INVALID, FIT},
        InvalidCase{"fit", "Cover", INVALID, FIT}, InvalidCase{"fit", "", INVALID, FIT},
        InvalidCase{"gravity", "middle", INVALID, GRAVITY},
        InvalidCase{"g", "1.5x0.5", INVALID, GRAVITY},
        InvalidCase{"gravity", "0.5", INVALID, GRAVITY},
        InvalidCase{"gravity", "0.5x0.5x0.5", INVALID, GRAVITY},
        InvalidCase{"gravity", "-0.1x0.5", INVALID, GRAVITY},
        InvalidCase{"gravity", "nanx0.5", INVALID, GRAVITY},
        InvalidCase{"fp-x", "1.1", INVALID, "fp-x must be a number from 0 to 1"},
        InvalidCase{"fp-y", "-0.1", INVALID, "fp-y must be a number from 0 to 1"},
        InvalidCase{"quality", "0", INVALID, QUALITY}, InvalidCase{"q", "101", INVALID, QUALITY},
        InvalidCase{"q", "80.5", INVALID, QUALITY}, InvalidCase{"format", "tiff", INVALID, FORMAT},
        InvalidCase{"fm", "JPEG", INVALID, FORMAT}, InvalidCase{"auto", "enhance", INVALID, AUTO},
        InvalidCase{"auto", "", INVALID, AUTO}, InvalidCase{"auto", "format,", INVALID, AUTO},
        InvalidCase{"rect", "0,0,0,10", INVALID, RECT},
        InvalidCase{"rect", "0,0,10,0", INVALID, RECT},
        InvalidCase{"rect", "-1,0,10,10", INVALID, RECT},
        InvalidCase{"crop-rect", "0,0,10", INVALID, RECT},
        InvalidCase{"rect", "0,0,10,10,10", INVALID, RECT},
        InvalidCase{"rect", "0,0,1.5,10", INVALID, RECT},
        InvalidCase{"rect", "0,0,4294967296,10", INVALID, RECT},
        InvalidCase{"rotate", "45", INVALID, ROTATE}, InvalidCase{"rot", "-90", INVALID, ROTATE},
        InvalidCase{"rotate", "360", INVALID, ROTATE}, InvalidCase{"flip", "x", INVALID, FLIP},
        InvalidCase{"flip", "hh", INVALID, FLIP}, InvalidCase{"blur", "0.2", INVALID, BLUR},
        InvalidCase{"blur", "251", INVALID, BLUR}, InvalidCase{"sharpen", "10.5", INVALID, SHARPEN},
        InvalidCase{"sharpen", "-1", INVALID, SHARPEN}, InvalidCase{"trim", "0", INVALID, TRIM},
        InvalidCase{"trim", "101", INVALID, TRIM}, InvalidCase{"trim", "5.5", INVALID, TRIM},
        InvalidCase{"background", "#fff", INVALID, BACKGROUND},
        InvalidCase{"bg", "ff", INVALID, BACKGROUND},
        InvalidCase{"bg", "fffff", INVALID, BACKGROUND},
        InvalidCase{"bg", "f0a8", INVALID, BACKGROUND},
        InvalidCase{"bg", "ggg", INVALID, BACKGROUND},
        InvalidCase{"background", "red", INVALID, BACKGROUND},
        InvalidCase{"metadata", "all", INVALID, METADATA},
        InvalidCase{"anim", "yes", INVALID, ANIM}, InvalidCase{"lossless", "2", INVALID, LOSSLESS},
        InvalidCase{"preset", "", INVALID, PRESET},
        InvalidCase{"preset", std::string(65, 'p'), INVALID, PRESET},
        InvalidCase{"preset", "a b", INVALID, PRESET},
        InvalidCase{"preset", "../x", INVALID, PRESET},
        InvalidCase{"s", "", INVALID, "s must be a non-empty signature"},
        InvalidCase{"sig", "", INVALID, "s must be a non-empty signature"},
        InvalidCase{"exp", "0", INVALID, "exp must be a positive integer (unix seconds)"},
        InvalidCase{"exp", "-1", INVALID, "exp must be a positive integer (unix seconds)"},
        InvalidCase{"exp", "soon", INVALID, "exp must be a positive integer (unix seconds)"},
        InvalidCase{"v", std::string(65, 'x'), INVALID, "v must be at most 64 characters"},
        InvalidCase{"foo", "1", Errc::UnknownParameter, "unknown parameter 'foo'"},
        InvalidCase{"W", "1", Errc::UnknownParameter, "unknown parameter 'W'"},
        InvalidCase{"", "1", Errc::UnknownParameter, "unknown parameter ''"}));

// --- Several parameters together. ---

TEST(ParseDeliveryOptions, EmptyQueryGivesNoOptions) {
    const auto options = parse({});
    ASSERT_TRUE(options);
    EXPECT_EQ(canonical_string(*options), "");
    EXPECT_FALSE(options->wants_transform());
}

TEST(ParseDeliveryOptions, TypedValues) {
    const auto o = parse(
        {{"w", "800"}, {"h", "600"}, {"fit", "max"}, {"g", "0.25x0.75"}, {"rect", "1,2,3,4"}});
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(o->width, 800u);
    EXPECT_EQ(o->height, 600u);
    EXPECT_EQ(o->fit, Fit::ScaleDown);
    EXPECT_EQ(o->gravity, (Gravity{GravityKind::Focal, 0.25, 0.75}));
    EXPECT_EQ(o->rect, (CropRect{1, 2, 3, 4}));
}

TEST(ParseDeliveryOptions, TypedValuesOfEveryKind) {
    const auto o = parse({{"bg", "f0a"},
                          {"anim", "0"},
                          {"exp", "1700000000"},
                          {"sig", "ab"},
                          {"fp-y", "0.1"},
                          {"auto", "format,compress"},
                          {"rot", "270"},
                          {"flip", "vh"},
                          {"metadata", "keep"},
                          {"v", "7"}});
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(o->background, (Rgba{0xff, 0x00, 0xaa, 0xff}));
    EXPECT_EQ(o->anim, false);
    EXPECT_EQ(o->expires, 1700000000);
    EXPECT_EQ(o->signature, "ab");
    EXPECT_EQ(o->gravity, (Gravity{GravityKind::Focal, 0.5, 0.1}));
    EXPECT_EQ(o->format, RequestedFormat::Auto);
    EXPECT_TRUE(o->compress);
    EXPECT_EQ(o->rotate, 270u);
    EXPECT_EQ(o->flip, Flip::Both);
    EXPECT_EQ(o->metadata, MetadataPolicy::Keep);
    EXPECT_EQ(o->version, "7");
}

TEST(ParseDeliveryOptions, GravityKeywordKeepsCentreCoordinates) {
    const auto o = parse({{"gravity", "auto"}});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->gravity, (Gravity{GravityKind::Auto, 0.5, 0.5}));
}

TEST(ParseDeliveryOptions, FocalPointFromBothAxes) {
    const auto o = parse({{"fp-y", "0.2"}, {"fp-x", "0.8"}});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->gravity, (Gravity{GravityKind::Focal, 0.8, 0.2}));
}

TEST(ParseDeliveryOptions, RespectsTheCallersMaxDimension) {
    EXPECT_TRUE(parse_delivery_options({{"w", "2000"}}, 2000));
    const auto o = parse_delivery_options({{"w", "2001"}}, 2000);
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().code, Errc::DimensionTooLarge);
    EXPECT_EQ(o.error().message, "width must be at most 2000 (the maximum dimension)");
    EXPECT_EQ(parse_delivery_options({{"h", "0"}}, 2000).error().message,
              "height must be an integer from 1 to 2000");
}

TEST(ParseDeliveryOptions, FirstErrorWins) {
    const auto o = parse({{"w", "100"}, {"nope", "1"}, {"q", "0"}});
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().code, Errc::UnknownParameter);
}

// --- Duplicates and clashes: the option is named with its canonical name. ---

struct ClashCase {
    Params params;
    std::string message;
};

class RejectsCombination : public testing::TestWithParam<ClashCase> {};

TEST_P(RejectsCombination, AsInvalidParameter) {
    const auto o = parse(GetParam().params);
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().code, Errc::InvalidParameter);
    EXPECT_EQ(o.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Options, RejectsCombination,
    testing::Values(
        ClashCase{{{"width", "1"}, {"width", "2"}},
                  "width (or its alias w) may be given only once"},
        ClashCase{{{"w", "1"}, {"width", "1"}}, "width (or its alias w) may be given only once"},
        ClashCase{{{"w", "1"}, {"w", "1"}}, "width (or its alias w) may be given only once"},
        ClashCase{{{"h", "1"}, {"height", "2"}}, "height (or its alias h) may be given only once"},
        ClashCase{{{"dpr", "1"}, {"dpr", "2"}}, "dpr may be given only once"},
        ClashCase{{{"g", "north"}, {"gravity", "south"}},
                  "gravity (or its alias g) may be given only once"},
        ClashCase{{{"q", "50"}, {"quality", "60"}},
                  "quality (or its alias q) may be given only once"},
        ClashCase{{{"fm", "png"}, {"format", "png"}},
                  "format (or its alias fm) may be given only once"},
        ClashCase{{{"crop-rect", "0,0,1,1"}, {"rect", "0,0,1,1"}},
                  "rect (or its alias crop-rect) may be given only once"},
        ClashCase{{{"rot", "90"}, {"rotate", "90"}},
                  "rotate (or its alias rot) may be given only once"},
        ClashCase{{{"bg", "fff"}, {"background", "000"}},
                  "background (or its alias bg) may be given only once"},
        ClashCase{{{"s", "a"}, {"sig", "b"}}, "s (or its alias sig) may be given only once"},
        ClashCase{{{"v", "1"}, {"v", "2"}}, "v may be given only once"},
        ClashCase{{{"auto", "format"}, {"auto", "compress"}}, "auto may be given only once"},
        ClashCase{{{"fp-x", "0.2"}, {"gravity", "north"}},
                  "fp-x and fp-y cannot be combined with gravity"},
        ClashCase{{{"g", "0.1x0.1"}, {"fp-y", "0.2"}},
                  "fp-x and fp-y cannot be combined with gravity"},
        ClashCase{{{"auto", "format"}, {"format", "webp"}},
                  "auto=format cannot be combined with format"},
        ClashCase{{{"fm", "auto"}, {"auto", "format,compress"}},
                  "auto=format cannot be combined with format"}));

TEST(ParseDeliveryOptions, CompressAloneDoesNotClashWithFormat) {
    const auto o = parse({{"format", "webp"}, {"auto", "compress"}});
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(o->format, RequestedFormat::Webp);
    EXPECT_TRUE(o->compress);
}

// --- Canonical string: aliases, order and number spelling do not matter. ---

TEST(CanonicalString, SameForAliasesOrderAndSpelling) {
    const auto a = parse({{"w", "800"}, {"fit", "max"}, {"q", "75"}, {"dpr", "2"}, {"v", "9"}});
    const auto b = parse({{"v", "9"},
                          {"dpr", "2.000"},
                          {"quality", "075"},
                          {"fit", "scale-down"},
                          {"width", "800"}});
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(canonical_string(*a), canonical_string(*b));
    EXPECT_EQ(canonical_string(*a), "width=800&dpr=2&fit=scale-down&quality=75&v=9");
}

TEST(CanonicalString, EveryAliasMatchesItsCanonicalName) {
    EXPECT_EQ(canonical_of("w", "800"), canonical_of("width", "800"));
    EXPECT_EQ(canonical_of("h", "800"), canonical_of("height", "800"));
    EXPECT_EQ(canonical_of("g", "top"), canonical_of("gravity", "north"));
    EXPECT_EQ(canonical_of("q", "80"), canonical_of("quality", "80"));
    EXPECT_EQ(canonical_of("fm", "jpg"), canonical_of("format", "jpeg"));
    EXPECT_EQ(canonical_of("auto", "format"), canonical_of("format", "auto"));
    EXPECT_EQ(canonical_of("crop-rect", "1,2,3,4"), canonical_of("rect", "1,2,3,4"));
    EXPECT_EQ(canonical_of("rot", "90"), canonical_of("rotate", "90"));
    EXPECT_EQ(canonical_of("bg", "F0A"), canonical_of("background", "ff00aa"));
    EXPECT_EQ(canonical_of("fp-x", "0.25"), canonical_of("gravity", "0.25x0.5"));
    EXPECT_EQ(canonical_of("fit", "max"), canonical_of("fit", "scale-down"));
    EXPECT_EQ(canonical_of("fit", "fill"), canonical_of("fit", "pad"));
}

TEST(CanonicalString, ExcludesSignatureAndExpiryButKeepsVersion) {
    const auto plain = parse({{"w", "100"}, {"v", "2"}});
    const auto signed_url = parse({{"w", "100"}, {"v", "2"}, {"exp", "1900000000"}, {"s", "ab"}});
    ASSERT_TRUE(plain);
    ASSERT_TRUE(signed_url);
    EXPECT_EQ(canonical_string(*plain), canonical_string(*signed_url));
    EXPECT_NE(canonical_string(*plain), canonical_of("w", "100"));
}

// Found by tests/fuzz/delivery_options_fuzz.cpp: `v` was written as given, so a version holding
// '&', '=', '+' or '%' read back as something else (`v=a%26w%3D100` as v=a plus width=100).
TEST(CanonicalString, ParsesBackToItselfWhateverTheVersionHolds) {
    for (const std::string version : {"a&w=100", "a+b", "50%", "x y", "caf\xc3\xa9", "#1"}) {
        const auto options = parse({{"w", "100"}, {"v", version}});
        ASSERT_TRUE(options) << version;
        const auto canonical = canonical_string(*options);
        const auto params = core::parse_query_string(canonical);
        ASSERT_TRUE(params) << canonical;
        const auto again = parse(*params);
        ASSERT_TRUE(again) << canonical << ": " << again.error().message;
        EXPECT_EQ(again->version, version) << canonical;
        EXPECT_EQ(canonical_string(*again), canonical);
    }
}

TEST(CanonicalString, ListsEveryFieldInFixedOrder) {
    DeliveryOptions o;
    o.version = "v1";
    o.preset = "p";
    o.lossless = true;
    o.anim = false;
    o.metadata = MetadataPolicy::Copyright;
    o.background = Rgba{0, 0x10, 0xab, 0x80};
    o.trim = 5;
    o.sharpen = 0.5;
    o.blur = 1.25;
    o.flip = Flip::Vertical;
    o.rotate = 180;
    o.rect = CropRect{0, 1, 2, 3};
    o.compress = true;
    o.format = RequestedFormat::Avif;
    o.quality = 9;
    o.gravity = Gravity{GravityKind::SouthWest};
    o.fit = Fit::Cover;
    o.dpr = 1.25;
    o.height = 2;
    o.width = 1;
    o.signature = "sig";
    o.expires = 1;
    EXPECT_EQ(canonical_string(o),
              "width=1&height=2&dpr=1.25&fit=cover&gravity=southwest&quality=9&format=avif&"
              "auto=compress&rect=0,1,2,3&rotate=180&flip=v&blur=1.25&sharpen=0.5&trim=5&"
              "background=0010ab80&metadata=copyright&anim=false&lossless=true&preset=p&v=v1");
}

// --- wants_transform ---

TEST(WantsTransform, FalseForOnlyVersionSignatureAndExpiry) {
    const auto o = parse({{"v", "1"}, {"exp", "1900000000"}, {"s", "ab"}});
    ASSERT_TRUE(o);
    EXPECT_FALSE(o->wants_transform());
}

class WantsTransformFor : public testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(WantsTransformFor, AnyOtherOption) {
    const auto o = parse({GetParam()});
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_TRUE(o->wants_transform()) << GetParam().first;
}

INSTANTIATE_TEST_SUITE_P(
    Options, WantsTransformFor,
    testing::Values(std::pair<std::string, std::string>{"w", "1"}, std::pair{"h", "1"},
                    std::pair{"dpr", "2"}, std::pair{"fit", "cover"}, std::pair{"g", "north"},
                    std::pair{"fp-x", "0.1"}, std::pair{"q", "50"}, std::pair{"fm", "png"},
                    std::pair{"auto", "format"}, std::pair{"auto", "compress"},
                    std::pair{"rect", "0,0,1,1"}, std::pair{"rot", "0"}, std::pair{"flip", "h"},
                    std::pair{"blur", "1"}, std::pair{"sharpen", "0"}, std::pair{"trim", "10"},
                    std::pair{"bg", "fff"}, std::pair{"metadata", "none"},
                    std::pair{"anim", "true"}, std::pair{"lossless", "false"},
                    std::pair{"preset", "thumb"}));

// --- overlay_on: the request's own options win over a preset's. ---

TEST(OverlayOn, FillsOnlyWhatTheRequestLeftUnset) {
    auto preset = parse({{"w", "200"}, {"h", "200"}, {"fit", "cover"}, {"q", "60"}, {"bg", "000"}});
    auto request = parse({{"preset", "thumb"}, {"w", "400"}, {"fm", "webp"}, {"v", "3"}});
    ASSERT_TRUE(preset);
    ASSERT_TRUE(request);
    request->overlay_on(*preset);
    EXPECT_EQ(request->width, 400u);
    EXPECT_EQ(request->height, 200u);
    EXPECT_EQ(request->fit, Fit::Cover);
    EXPECT_EQ(request->quality, 60u);
    EXPECT_EQ(request->format, RequestedFormat::Webp);
    EXPECT_EQ(request->background, (Rgba{0, 0, 0, 255}));
    EXPECT_EQ(request->preset, "thumb");
    EXPECT_EQ(request->version, "3");
}

TEST(OverlayOn, CompressIsOredEitherWay) {
    DeliveryOptions with;
    with.compress = true;
    DeliveryOptions without;

    auto a = without;
    a.overlay_on(with);
    EXPECT_TRUE(a.compress);
    auto b = with;
    b.overlay_on(without);
    EXPECT_TRUE(b.compress);
    auto c = without;
    c.overlay_on(without);
    EXPECT_FALSE(c.compress);
}

TEST(OverlayOn, TakesEveryOptionFromAFullBase) {
    const auto base =
        parse({{"w", "1"},          {"h", "2"},           {"dpr", "1.5"},  {"fit", "pad"},
               {"g", "entropy"},    {"q", "3"},           {"fm", "gif"},   {"auto", "compress"},
               {"rect", "0,0,4,4"}, {"rot", "90"},        {"flip", "h"},   {"blur", "2"},
               {"sharpen", "1"},    {"trim", "4"},        {"bg", "abc"},   {"metadata", "keep"},
               {"anim", "false"},   {"lossless", "true"}, {"preset", "p"}, {"v", "5"},
               {"s", "x"},          {"exp", "9"}});
    ASSERT_TRUE(base) << base.error().message;
    DeliveryOptions empty;
    empty.overlay_on(*base);
    EXPECT_EQ(canonical_string(empty), canonical_string(*base));
    EXPECT_EQ(empty.signature, "x");
    EXPECT_EQ(empty.expires, 9);
}

TEST(ParsePresetOptions, ParsesAValidPreset) {
    auto preset = parse_preset_options("w=400&h=300&fit=cover&fm=webp&q=70", MAX_DIMENSION);
    ASSERT_TRUE(preset) << preset.error().message;
    EXPECT_EQ(preset->width, 400u);
    EXPECT_EQ(preset->height, 300u);
    EXPECT_EQ(preset->fit, Fit::Cover);
    EXPECT_EQ(preset->format, RequestedFormat::Webp);
    EXPECT_EQ(preset->quality, 70u);
    EXPECT_FALSE(preset->preset);
}

TEST(ParsePresetOptions, DecodesEscapedNamesAndValues) {
    auto preset = parse_preset_options("fm=web%70&g=0.25x0.75&%77=10", MAX_DIMENSION);
    ASSERT_TRUE(preset) << preset.error().message;
    EXPECT_EQ(preset->format, RequestedFormat::Webp);
    EXPECT_EQ(preset->gravity, (Gravity{GravityKind::Focal, 0.25, 0.75}));
    EXPECT_EQ(preset->width, 10u);
}

TEST(ParsePresetOptions, RefusesUrlOnlyOptions) {
    for (const char* query : {"w=100&preset=thumb", "w=100&v=2", "w=100&s=abc", "w=100&sig=abc",
                              "w=100&exp=1700000000"}) {
        auto preset = parse_preset_options(query, MAX_DIMENSION);
        ASSERT_FALSE(preset) << query;
        EXPECT_EQ(preset.error().code, Errc::InvalidParameter) << query;
    }
}

TEST(ParsePresetOptions, RefusesAPresetWithoutOptions) {
    for (const char* query : {"", "&&"}) {
        auto preset = parse_preset_options(query, MAX_DIMENSION);
        ASSERT_FALSE(preset) << '"' << query << '"';
        EXPECT_EQ(preset.error().code, Errc::InvalidParameter);
    }
}

TEST(ParsePresetOptions, RefusesBadOptionsAsDeliveryOptionsDo) {
    for (const char* query : {"w=abc", "q=0", "fit=stretch", "w=1&w=2", "w=1&width=2", "w=%zz"}) {
        auto preset = parse_preset_options(query, MAX_DIMENSION);
        ASSERT_FALSE(preset) << query;
        EXPECT_EQ(preset.error().code, Errc::InvalidParameter) << query;
    }
    EXPECT_EQ(parse_preset_options("colour=red", MAX_DIMENSION).error().code,
              Errc::UnknownParameter);
    EXPECT_EQ(parse_preset_options("w=5000", 4096).error().code, Errc::DimensionTooLarge);
}

} // namespace
} // namespace cdn::transform
