#include "transform/spec.h"

#include <gtest/gtest.h>

namespace cdn::transform {
namespace {

// The canonical string is what the cache key hashes: these are the exact bytes the earlier
// fmt::format-based canonical() wrote, so the variants in existing disk and shared tiers keep
// their keys. A change here is a change of every cache key.

TEST(CanonicalSpecTest, TheDefaultSpecKeepsItsBytes) {
    EXPECT_EQ(TransformSpec{}.canonical(),
              "w=-;h=-;fit=scale-down;g=0:0.5000:0.5000;f=source;json=false;q=-;c=false;rot=0;"
              "flip=0;blur=-;sharpen=-;trim=-;bg=ffffffff;meta=0;anim=true;lossless=false;v=");
}

TEST(CanonicalSpecTest, EveryFieldSetKeepsItsBytes) {
    TransformSpec spec;
    spec.width = 800;
    spec.height = 600;
    spec.fit = Fit::Cover;
    spec.gravity = {GravityKind::Center, 0.1, 2.0 / 3.0};
    spec.format = FormatChoice::Webp;
    spec.describe_only = true;
    spec.quality = 75;
    spec.compress = true;
    spec.rect = CropRect{1, 22, 333, 4444};
    spec.rotate = 270;
    spec.flip = Flip::Both;
    spec.blur = 0.3;
    spec.sharpen = 1.5;
    spec.trim = 12;
    spec.padding = 7;
    spec.background = {0, 15, 171, 254};
    spec.metadata = MetadataPolicy::Keep;
    spec.anim = false;
    spec.lossless = true;
    spec.version = "v2";
    spec.jpeg_scan = JpegScan::Progressive;
    spec.cap_to_limits = true;
    EXPECT_EQ(spec.canonical(),
              "w=800;h=600;fit=cover;g=0:0.1000:0.6667;f=webp;json=true;q=75;c=true;"
              "rect=1,22,333,4444;rot=270;flip=3;blur=0.3;sharpen=1.5;trim=12;bg=000fabfe;"
              "meta=2;anim=false;lossless=true;v=v2;pad=7;progressive;cap");
}

TEST(CanonicalSpecTest, RoundedAndLargeOrTinyNumbersKeepTheirBytes) {
    TransformSpec spec;
    spec.gravity = {GravityKind::Center, 0.00005, 0.99995};
    spec.blur = 100;
    spec.sharpen = 1e-7;
    spec.jpeg_scan = JpegScan::Baseline;
    EXPECT_EQ(spec.canonical(),
              "w=-;h=-;fit=scale-down;g=0:0.0001:1.0000;f=source;json=false;q=-;c=false;rot=0;"
              "flip=0;blur=100;sharpen=1e-07;trim=-;bg=ffffffff;meta=0;anim=true;lossless=false;"
              "v=;baseline");
}

} // namespace
} // namespace cdn::transform
