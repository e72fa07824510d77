#include "transform/engine.h"

#include <gtest/gtest.h>
#include <vips/vips8>

#include <fstream>
#include <iterator>
#include <tuple>

#include "transform/vips_runtime.h"

namespace cdn::transform {
namespace {

using vips::VImage;

class EngineTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { ASSERT_TRUE(init_vips("engine_test")); }

    static std::string save(const VImage& image, const char* suffix) {
        void* buf = nullptr;
        size_t len = 0;
        image.write_to_buffer(suffix, &buf, &len);
        std::string out(static_cast<const char*>(buf), len);
        g_free(buf);
        return out;
    }

    /** 400×200: top-left red, top-right green, bottom-left blue, bottom-right white. */
    static VImage quadrants(int w = 400, int h = 200) {
        auto xy = VImage::xyz(w, h);
        auto right = xy[0] >= w / 2;  // 255 where true
        auto bottom = xy[1] >= h / 2;
        auto r = (right == bottom).ifthenelse(255, 0);
        auto g = right.ifthenelse(255, 0);
        auto b = bottom.ifthenelse(255, 0);
        return VImage::bandjoin({r, g, b}).cast(VIPS_FORMAT_UCHAR).copy(
            VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
    }

    static VImage decode(const std::string& bytes) {
        return VImage::new_from_buffer(bytes.data(), bytes.size(), "");
    }

    static std::vector<double> pixel(const std::string& bytes, int x, int y) {
        return decode(bytes).getpoint(x, y);
    }

    static EncodedImage run(const std::string& bytes, TransformSpec spec, Limits limits = {}) {
        auto result = transform_image(bytes, spec, limits,
                                      std::chrono::steady_clock::now() + std::chrono::seconds(30));
        EXPECT_TRUE(result) << result.error().message << " " << result.error().detail;
        return result ? *result : EncodedImage{};
    }

    static core::Errc run_error(const std::string& bytes, TransformSpec spec = {},
                                Limits limits = {}) {
        auto result = transform_image(bytes, spec, limits,
                                      std::chrono::steady_clock::now() + std::chrono::seconds(30));
        EXPECT_FALSE(result);
        return result ? core::Errc::Internal : result.error().code;
    }

    static TransformSpec box(std::optional<std::uint32_t> w, std::optional<std::uint32_t> h,
                             Fit fit) {
        TransformSpec spec;
        spec.width = w;
        spec.height = h;
        spec.fit = fit;
        spec.format = FormatChoice::Png;
        return spec;
    }
};

/** PNG chunk CRC (the IEEE polynomial), to forge a consistent header. */
std::uint32_t crc32(std::string_view data) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char c : data) {
        crc ^= c;
        for (int k = 0; k < 8; ++k) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

bool near_colour(const std::vector<double>& p, double r, double g, double b) {
    return std::abs(p[0] - r) < 40 && std::abs(p[1] - g) < 40 && std::abs(p[2] - b) < 40;
}

TEST_F(EngineTest, EveryFitOnSmallerAndLargerBoxes) {
    const auto jpeg = save(quadrants(3000, 2000), ".jpg");
    using Case = std::tuple<std::optional<std::uint32_t>, std::optional<std::uint32_t>, Fit, int, int>;
    const std::vector<Case> cases{
        {600, 600, Fit::ScaleDown, 600, 400},   {6000, 6000, Fit::ScaleDown, 3000, 2000},
        {600, 600, Fit::Contain, 600, 400},     {4500, 6000, Fit::Contain, 4500, 3000},
        {600, 600, Fit::Cover, 600, 600},       {4000, 1000, Fit::Cover, 4000, 1000},
        {600, 600, Fit::Crop, 600, 600},        {4000, 1000, Fit::Crop, 3000, 1000},
        {600, 600, Fit::Pad, 600, 600},         {4500, 4500, Fit::Pad, 4500, 4500},
        {600, 100, Fit::Squeeze, 600, 100},     {5000, 2500, Fit::Squeeze, 5000, 2500},
        {300, std::nullopt, Fit::ScaleDown, 300, 200}, {std::nullopt, 500, Fit::Contain, 750, 500},
        {std::nullopt, 4000, Fit::ScaleDown, 3000, 2000}, {800, std::nullopt, Fit::Cover, 800, 533},
    };
    for (const auto& [w, h, fit, ew, eh] : cases) {
        const auto out = run(jpeg, box(w, h, fit));
        EXPECT_EQ(out.width, static_cast<std::uint32_t>(ew)) << static_cast<int>(fit) << " " << w.value_or(0);
        EXPECT_EQ(out.height, static_cast<std::uint32_t>(eh)) << static_cast<int>(fit) << " " << h.value_or(0);
        const auto decoded = decode(out.bytes);
        EXPECT_EQ(decoded.width(), ew);
        EXPECT_EQ(decoded.height(), eh);
    }
}

TEST_F(EngineTest, ShrinkOnLoadAccountsForExifOrientation) {
    // Stored 3000×2000 with orientation 6 (rotate 90°): displayed 2000×3000. Asking for 1400 px
    // wide must not shrink on load by the stored width (which would leave only 1000 px).
    auto stored = quadrants(3000, 2000).copy();
    stored.set("orientation", 6);
    const auto jpeg = save(stored, ".jpg");
    const auto out = run(jpeg, box(1400, std::nullopt, Fit::ScaleDown));
    EXPECT_EQ(out.width, 1400u);
    EXPECT_EQ(out.height, 2100u);
    // `rotate` on a large JPEG reads rows out of order too.
    auto rotated = box(500, std::nullopt, Fit::ScaleDown);
    rotated.rotate = 90;
    const auto plain = save(quadrants(3000, 2000), ".jpg");
    const auto turned = run(plain, rotated);
    EXPECT_EQ(turned.width, 500u);
    EXPECT_EQ(turned.height, 750u);
    // A quarter turn swaps the box's axes like orientation 6 does: 600 px wide of a 2560×1600
    // turned upright is a shrink of 1600/600, not 2560/600 (which would leave 400 px, and
    // scale-down never enlarges). Found by @imgix/js-core's `orient=90` (tests/compat).
    auto upright = box(600, std::nullopt, Fit::ScaleDown);
    upright.rotate = 90;
    const auto landscape = run(save(quadrants(2560, 1600), ".jpg"), upright);
    EXPECT_EQ(landscape.width, 600u);
    EXPECT_EQ(landscape.height, 960u);
}

TEST_F(EngineTest, GravityDecidesWhichQuadrantSurvives) {
    const auto png = save(quadrants(), ".png");
    // Cover 100×100 of 400×200: scaled to 200×100, one half survives.
    auto spec = box(100, 100, Fit::Cover);
    spec.gravity = Gravity{GravityKind::West};
    auto out = run(png, spec);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 50, 25), 255, 0, 0));   // red top-left
    EXPECT_TRUE(near_colour(pixel(out.bytes, 50, 75), 0, 0, 255));   // blue bottom-left
    spec.gravity = Gravity{GravityKind::East};
    out = run(png, spec);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 50, 25), 0, 255, 0));   // green
    EXPECT_TRUE(near_colour(pixel(out.bytes, 50, 75), 255, 255, 255)); // white
    // A focal point in the right quarter behaves like east here.
    spec.gravity = Gravity{GravityKind::Focal, 0.9, 0.5};
    out = run(png, spec);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 50, 25), 0, 255, 0));
    // North/south on a tall crop: 200×50 of 400×200 → scaled 200×100, one row band survives.
    auto wide = box(200, 50, Fit::Cover);
    wide.gravity = Gravity{GravityKind::North};
    out = run(png, wide);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 10, 25), 255, 0, 0));
    wide.gravity = Gravity{GravityKind::South};
    out = run(png, wide);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 10, 25), 0, 0, 255));
    wide.gravity = Gravity{GravityKind::SouthEast};
    out = run(png, wide);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 190, 25), 255, 255, 255));
    for (auto kind : {GravityKind::Auto, GravityKind::Entropy, GravityKind::NorthWest,
                      GravityKind::NorthEast, GravityKind::SouthWest, GravityKind::Center}) {
        spec.gravity = Gravity{kind};
        out = run(png, spec);
        EXPECT_EQ(out.width, 100u);
        EXPECT_EQ(out.height, 100u);
    }
}

TEST_F(EngineTest, RotateAndFlipMoveQuadrants) {
    const auto png = save(quadrants(), ".png");
    TransformSpec spec;
    spec.format = FormatChoice::Png;
    spec.rotate = 90;
    auto out = run(png, spec);
    EXPECT_EQ(out.width, 200u);
    EXPECT_EQ(out.height, 400u);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 150, 50), 255, 0, 0)); // red now top-right
    spec.rotate = 0;
    spec.flip = Flip::Horizontal;
    out = run(png, spec);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 350, 50), 255, 0, 0));
    spec.flip = Flip::Vertical;
    out = run(png, spec);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 50, 150), 255, 0, 0));
}

TEST_F(EngineTest, RectCropsInOriginalPixelsAndRefusesOutOfBounds) {
    const auto png = save(quadrants(), ".png");
    TransformSpec spec;
    spec.format = FormatChoice::Png;
    spec.rect = CropRect{200, 0, 200, 100};
    const auto out = run(png, spec);
    EXPECT_EQ(out.width, 200u);
    EXPECT_EQ(out.height, 100u);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 100, 50), 0, 255, 0));
    spec.rect = CropRect{300, 0, 200, 100};
    EXPECT_EQ(run_error(png, spec), core::Errc::InvalidParameter);
}

TEST_F(EngineTest, TrimRemovesUniformBorder) {
    auto inner = quadrants(100, 60);
    auto framed = inner.embed(30, 20, 160, 100,
                              VImage::option()->set("extend", VIPS_EXTEND_BACKGROUND)
                                  ->set("background", std::vector<double>{255, 255, 0}));
    TransformSpec spec;
    spec.format = FormatChoice::Png;
    spec.trim = 10;
    const auto out = run(save(framed, ".png"), spec);
    EXPECT_EQ(out.width, 100u);
    EXPECT_EQ(out.height, 60u);
}

TEST_F(EngineTest, TransparentPngFlattensOntoBackgroundForJpeg) {
    auto rgb = quadrants(100, 100);
    auto transparent = rgb.bandjoin_const({0.0}); // fully transparent
    TransformSpec spec;
    spec.format = FormatChoice::Jpeg;
    spec.background = Rgba{255, 0, 0, 255};
    const auto out = run(save(transparent, ".png"), spec);
    EXPECT_EQ(out.format, ImageFormat::Jpeg);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 75, 75), 255, 0, 0));
}

TEST_F(EngineTest, PaddingIsABackgroundBorderInsideTheBox) {
    // imgix `w=60&pad=10`: the 400×200 image fits in 40 px, then gets a 10 px border.
    auto spec = box(60, std::nullopt, Fit::ScaleDown);
    spec.format = FormatChoice::Png;
    spec.padding = 10;
    spec.background = Rgba{0, 0, 255, 255};
    const auto png = save(quadrants(), ".png");
    const auto out = run(png, spec);
    EXPECT_EQ(out.width, 60u);
    EXPECT_EQ(out.height, 40u);
    EXPECT_EQ(output_size(spec, {.width = 400, .height = 200}).height, 40u);
    EXPECT_TRUE(near_colour(pixel(out.bytes, 2, 2), 0, 0, 255));
    EXPECT_TRUE(near_colour(pixel(out.bytes, 12, 12), 255, 0, 0)); // the image's red corner
    // Without a box, the border is added around the original size.
    TransformSpec unboxed;
    unboxed.padding = 5;
    unboxed.format = FormatChoice::Png;
    const auto framed = run(png, unboxed);
    EXPECT_EQ(framed.width, 410u);
    EXPECT_EQ(framed.height, 210u);
}

TEST_F(EngineTest, LowerQualityIsSmaller) {
    const auto jpeg = save(quadrants(1200, 800).gaussnoise(1200, 800), ".png");
    auto spec = box(800, std::nullopt, Fit::ScaleDown);
    spec.format = FormatChoice::Jpeg;
    spec.quality = 30;
    const auto low = run(jpeg, spec);
    spec.quality = 90;
    const auto high = run(jpeg, spec);
    EXPECT_LT(low.bytes.size(), high.bytes.size());
}

TEST_F(EngineTest, EachOutputFormatMatchesItsBytes) {
    const auto png = save(quadrants(), ".png");
    for (auto [choice, expected] : std::vector<std::pair<FormatChoice, ImageFormat>>{
             {FormatChoice::Jpeg, ImageFormat::Jpeg}, {FormatChoice::Png, ImageFormat::Png},
             {FormatChoice::Webp, ImageFormat::Webp}, {FormatChoice::Avif, ImageFormat::Avif},
             {FormatChoice::Gif, ImageFormat::Gif}, {FormatChoice::JpegOrPngByAlpha, ImageFormat::Jpeg},
             {FormatChoice::SameAsSource, ImageFormat::Png}}) {
        auto spec = box(100, std::nullopt, Fit::ScaleDown);
        spec.format = choice;
        const auto out = run(png, spec);
        EXPECT_EQ(out.format, expected);
        EXPECT_EQ(sniff_format(out.bytes), expected);
        EXPECT_EQ(decode(out.bytes).width(), 100);
    }
}

TEST_F(EngineTest, AnimationSurvivesToWebpAndAnimFalseKeepsOneFrame) {
    std::vector<VImage> frames;
    for (int i = 0; i < 5; ++i) {
        frames.push_back(quadrants(80, 40).linear(std::vector<double>{1.0}, std::vector<double>{i * 10.0}).cast(VIPS_FORMAT_UCHAR));
    }
    auto strip = VImage::arrayjoin(frames, VImage::option()->set("across", 1));
    strip.set("page-height", 40);
    strip.set("delay", std::vector<int>(5, 100));
    const auto gif = save(strip, ".gif");
    auto spec = box(40, std::nullopt, Fit::ScaleDown);
    spec.format = FormatChoice::Webp;
    auto out = run(gif, spec);
    EXPECT_EQ(out.source.frames, 5u);
    EXPECT_EQ(out.frames, 5u);
    auto decoded = VImage::new_from_buffer(out.bytes.data(), out.bytes.size(), "", VImage::option()->set("n", -1));
    EXPECT_EQ(decoded.get_int("n-pages"), 5);
    EXPECT_EQ(decoded.width(), 40);
    spec.anim = false;
    out = run(gif, spec);
    EXPECT_EQ(out.frames, 1u);
    spec.anim = true;
    spec.format = FormatChoice::Jpeg;
    out = run(gif, spec);
    EXPECT_EQ(out.frames, 1u);
}

TEST_F(EngineTest, MetadataPolicy) {
    auto image = quadrants(200, 100);
    image.set("exif-ifd0-Copyright", "(c) Example Photographer");
    image.set("exif-ifd0-Make", "ExampleCam");
    const auto jpeg = save(image, ".jpg");
    ASSERT_NE(decode(jpeg).get_typeof("exif-data"), 0u);
    TransformSpec spec;
    spec.format = FormatChoice::Jpeg;
    spec.metadata = MetadataPolicy::None;
    EXPECT_EQ(decode(run(jpeg, spec).bytes).get_typeof("exif-data"), 0u);
    spec.metadata = MetadataPolicy::Keep;
    const auto kept = decode(run(jpeg, spec).bytes);
    ASSERT_NE(kept.get_typeof("exif-ifd0-Make"), 0u);
    EXPECT_NE(std::string(kept.get_string("exif-ifd0-Make")).find("ExampleCam"), std::string::npos);
    spec.metadata = MetadataPolicy::Copyright;
    const auto copyright = decode(run(jpeg, spec).bytes);
    ASSERT_NE(copyright.get_typeof("exif-ifd0-Copyright"), 0u);
    EXPECT_NE(std::string(copyright.get_string("exif-ifd0-Copyright")).find("Example Photographer"),
              std::string::npos);
    EXPECT_EQ(copyright.get_typeof("exif-ifd0-Make"), 0u);
}

// Found by tests/fuzz/image_probe_fuzz.cpp: a HEIC whose primary item is a grid that names no
// size probed as 0×0 and was accepted; every later step divides by the source's size.
TEST_F(EngineTest, ProbeRefusesAHeaderWithoutPixels) {
    std::ifstream file(std::string(IMAGECDN_SOURCE_DIR) +
                           "/tests/fuzz/corpus/image_probe/crash-heic-zero-size",
                       std::ios::binary);
    const std::string heic{std::istreambuf_iterator<char>(file), {}};
    ASSERT_EQ(sniff_format(heic), ImageFormat::Heic);
    const auto probed = probe_source(heic, Limits{});
    ASSERT_FALSE(probed) << probed->width << "x" << probed->height;
    EXPECT_EQ(probed.error().code, core::Errc::UnprocessableImage);
}

TEST_F(EngineTest, HostileInputs) {
    const auto jpeg = save(quadrants(800, 600).gaussnoise(800, 600), ".jpg");
    EXPECT_EQ(run_error(jpeg.substr(0, jpeg.size() / 2)), core::Errc::UnprocessableImage);
    EXPECT_EQ(run_error(""), core::Errc::UnprocessableImage);
    EXPECT_EQ(run_error("this is a text file named photo.jpg"), core::Errc::UnprocessableImage);
    // A PNG whose header claims 60000×60000: refused from the header alone.
    auto png = save(quadrants(10, 10), ".png");
    png[16] = 0; png[17] = 0; png[18] = '\xEA'; png[19] = '\x60';
    png[20] = 0; png[21] = 0; png[22] = '\xEA'; png[23] = '\x60';
    const auto crc = crc32(std::string_view(png).substr(12, 17));
    for (int i = 0; i < 4; ++i) {
        png[29 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xFF);
    }
    EXPECT_EQ(run_error(png), core::Errc::SourceTooLarge);
    Limits small;
    small.max_original_bytes = 100;
    EXPECT_EQ(run_error(jpeg, {}, small), core::Errc::SourceTooLarge);
}

SourceInfo source_of(std::uint32_t w, std::uint32_t h) {
    SourceInfo source;
    source.format = ImageFormat::Png;
    source.width = w;
    source.height = h;
    return source;
}

TransformSpec fit_box(std::optional<std::uint32_t> w, std::optional<std::uint32_t> h, Fit fit) {
    TransformSpec spec;
    spec.width = w;
    spec.height = h;
    spec.fit = fit;
    return spec;
}

TEST(OutputGeometry, FollowsTheFitOnBothAxes) {
    // The attack of issue 13: a 100000×10 strip fitted to a height of 8192.
    EXPECT_EQ(output_size(fit_box({}, 8192, Fit::Contain), source_of(100000, 10)),
              (OutputSize{81'920'000, 8192}));
    EXPECT_EQ(output_size(fit_box(640, 640, Fit::Contain), source_of(2560, 1600)),
              (OutputSize{640, 400}));
    EXPECT_EQ(output_size(fit_box(4000, 1000, Fit::Crop), source_of(2560, 1600)),
              (OutputSize{2560, 1000}));
    EXPECT_EQ(output_size(fit_box(4000, {}, Fit::ScaleDown), source_of(2560, 1600)),
              (OutputSize{2560, 1600}));
    EXPECT_EQ(output_size(fit_box(500, 500, Fit::Pad), source_of(100, 1000)),
              (OutputSize{500, 500}));
    EXPECT_EQ(output_size(fit_box(640, 100, Fit::Squeeze), source_of(2560, 1600)),
              (OutputSize{640, 100}));
    // No resize: the original's size (a format change).
    EXPECT_EQ(output_size(TransformSpec{}, source_of(9000, 5000)), (OutputSize{9000, 5000}));
}

TEST(OutputGeometry, OrientationRectAndRotateComeBeforeTheFit) {
    auto spec = fit_box({}, 100, Fit::Contain);
    auto source = source_of(1000, 10);
    EXPECT_EQ(output_size(spec, source), (OutputSize{10000, 100}));
    spec.rotate = 90;
    EXPECT_EQ(output_size(spec, source), (OutputSize{1, 100}));
    spec.rotate = 0;
    source.orientation = 6;
    EXPECT_EQ(output_size(spec, source), (OutputSize{1, 100}));
    source.orientation = 1;
    spec.rect = CropRect{0, 0, 50, 5};
    EXPECT_EQ(output_size(spec, source), (OutputSize{1000, 100}));
    // An animation is neither cut nor turned: its frames are fitted as they are.
    source.frames = 3;
    spec.rotate = 90;
    EXPECT_EQ(output_size(spec, source), (OutputSize{10000, 100}));
}

TEST(OutputGeometry, OverTheLimitsIsRefusedBeforeAnyDecode) {
    const Limits limits;
    auto refused = bound_output(fit_box({}, 8192, Fit::Contain), source_of(100000, 10), limits);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, core::Errc::DimensionTooLarge);
    EXPECT_NE(refused.error().message.find("81920000x8192"), std::string::npos);
    // Within each axis but over the pixels: 8000×6000 is 48 MP.
    auto pixels = bound_output(fit_box(8000, 6000, Fit::Squeeze), source_of(100, 100), limits);
    ASSERT_FALSE(pixels);
    EXPECT_EQ(pixels.error().code, core::Errc::DimensionTooLarge);
    // A format change without resizing counts too.
    Limits small;
    small.max_output_pixels = 1'000'000;
    EXPECT_FALSE(bound_output(TransformSpec{}, source_of(1001, 1000), small));
    EXPECT_TRUE(bound_output(TransformSpec{}, source_of(1000, 1000), small));
    // cover scales before it crops: a strip zoomed 400 times is refused, though the box fits.
    auto cover = bound_output(fit_box(8000, 4000, Fit::Cover), source_of(100000, 10), limits);
    ASSERT_FALSE(cover);
    EXPECT_NE(cover.error().message.find("before cropping"), std::string::npos);
    // Exactly at the limits passes.
    EXPECT_TRUE(bound_output(fit_box(8192, 4882, Fit::Squeeze), source_of(10, 10), limits));
}

TEST(OutputGeometry, ThroughDprTheBoxIsCappedInstead) {
    const Limits limits;
    auto spec = fit_box(8000, 6000, Fit::Squeeze);
    spec.cap_to_limits = true;
    auto capped = bound_output(spec, source_of(100, 100), limits);
    ASSERT_TRUE(capped);
    const auto size = output_size(*capped, source_of(100, 100));
    EXPECT_LE(size.width * size.height, limits.max_output_pixels);
    EXPECT_GT(size.width * size.height, limits.max_output_pixels * 99 / 100);
    // The aspect ratio of the box is kept.
    EXPECT_NEAR(static_cast<double>(*capped->width) / *capped->height, 8000.0 / 6000.0, 0.01);
    // A scale-down box larger than the original: capped until it bites.
    auto scale_down = fit_box(8192, {}, Fit::ScaleDown);
    scale_down.cap_to_limits = true;
    auto shrunk = bound_output(scale_down, source_of(8000, 8000), limits);
    ASSERT_TRUE(shrunk);
    EXPECT_LE(output_size(*shrunk, source_of(8000, 8000)).width *
                  output_size(*shrunk, source_of(8000, 8000)).height,
              limits.max_output_pixels);
}

TEST_F(EngineTest, TrimmedShapesAreBoundAfterTrimming) {
    // A white 400×400 square with a 400×2 black bar: trimmed to 400×2, then fitted to a
    // height of 800 it would be 160000 wide.
    auto white = VImage::black(400, 400).linear(std::vector<double>{1}, std::vector<double>{255});
    auto bar = white.insert(VImage::black(400, 2), 0, 199);
    auto spec = box({}, 800, Fit::Contain);
    spec.trim = 10;
    EXPECT_EQ(run_error(save(bar.cast(VIPS_FORMAT_UCHAR), ".png"), spec),
              core::Errc::DimensionTooLarge);
}

TEST_F(EngineTest, APassedDeadlineFailsTrimSmartCropAndSvgJobs) {
    const auto noise = save(VImage::gaussnoise(3000, 3000).cast(VIPS_FORMAT_UCHAR), ".png");
    auto expired = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
    auto trim = box(100, {}, Fit::ScaleDown);
    trim.trim = 10;
    auto smart = box(300, 300, Fit::Cover);
    smart.gravity.kind = GravityKind::Entropy;
    for (const auto& spec : {trim, smart}) {
        auto result = transform_image(noise, spec, {}, expired);
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().code, core::Errc::TransformTimeout);
    }
    const std::string svg = R"(<svg xmlns="http://www.w3.org/2000/svg" width="3000" height="3000">)"
                            R"(<rect width="3000" height="3000" fill="red"/></svg>)";
    auto raster = rasterise_svg(svg, {}, expired);
    ASSERT_FALSE(raster);
    EXPECT_EQ(raster.error().code, core::Errc::TransformTimeout);
    const auto later = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    EXPECT_TRUE(rasterise_svg(svg, {}, later));
}

TEST_F(EngineTest, TimeoutKillsTheTransform) {
    const auto png = save(quadrants(2000, 2000), ".png");
    TransformSpec spec = box(1999, std::nullopt, Fit::ScaleDown);
    spec.blur = 200;
    auto result = transform_image(png, spec, {}, std::chrono::steady_clock::now());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, core::Errc::TransformTimeout);
}

} // namespace
} // namespace cdn::transform
