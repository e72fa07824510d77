#include "transform/vips_runtime.h"

#include <vips/vips8>

#include <array>
#include <cmath>

namespace cdn::transform {
namespace {

// Class names of the loaders we trust, by libvips' GType names; blocking or allowing a
// class covers its file, buffer and source variants. Names absent from this build are no-ops.
constexpr std::array ALLOWED_LOADERS{
    "VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadSpng", "VipsForeignLoadWebp",
    "VipsForeignLoadGif",  "VipsForeignLoadNsgif", "VipsForeignLoadHeif", "VipsForeignLoadSvg",
    "VipsForeignLoadTiff", "VipsForeignLoadJxl",
};

} // namespace

core::Result<void> init_vips(const char* argv0) {
    if (VIPS_INIT(argv0) != 0) {
        return core::make_error(core::Errc::Internal, "libvips failed to start", vips_error_buffer());
    }
    // An image server never repeats an operation on the same image: the operation cache only
    // holds memory. Throughput comes from one image per worker, not threads inside one image.
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_concurrency_set(1);
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (const char* loader : ALLOWED_LOADERS) {
        vips_operation_block_set(loader, FALSE);
    }
    return {};
}

void end_vips_job() {
    vips_error_clear();
    vips_thread_shutdown();
}

namespace {

/** A smooth, photo-like test image: colour gradients, rings and a little noise. */
vips::VImage synthetic_photo(int width, int height) {
    auto xy = vips::VImage::xyz(width, height);
    auto x = xy[0] / static_cast<double>(width);
    auto y = xy[1] / static_cast<double>(height);
    auto cx = xy[0] - width / 2.0;
    auto cy = xy[1] - height / 2.0;
    // libvips' sin() takes degrees.
    auto rings = ((cx * cx + cy * cy).pow(0.5) * (57.2958 / 40.0)).sin() * 40.0;
    auto noise = vips::VImage::gaussnoise(width, height, vips::VImage::option()->set("sigma", 6.0));
    auto r = x * 200.0 + rings + noise + 30.0;
    auto g = y * 180.0 + rings * 0.5 + noise + 40.0;
    auto b = (1.0 - x) * 160.0 - rings + noise + 60.0;
    return vips::VImage::bandjoin({r, g, b}).cast(VIPS_FORMAT_UCHAR).copy(
        vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
}

/** A disc on a transparent background: a PNG with alpha. */
vips::VImage transparent_logo(int size) {
    auto xy = vips::VImage::xyz(size, size);
    auto cx = xy[0] - size / 2.0;
    auto cy = xy[1] - size / 2.0;
    auto inside = (cx * cx + cy * cy) < (size * 0.4) * (size * 0.4);
    auto alpha = inside.ifthenelse(255.0, 0.0);
    auto colour = (xy[0] / static_cast<double>(size) * 255.0);
    return vips::VImage::bandjoin({colour, colour * 0.3 + 80.0, 255.0 - colour, alpha})
        .cast(VIPS_FORMAT_UCHAR)
        .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
}

std::string to_string(VipsBlob* blob) {
    std::string out(static_cast<const char*>(blob->area.data), blob->area.length);
    vips_area_unref(VIPS_AREA(blob));
    return out;
}

} // namespace

std::vector<std::pair<std::string, std::string>> demo_images() {
    std::vector<std::pair<std::string, std::string>> images;
    images.emplace_back("photos/landscape.jpg",
                        to_string(synthetic_photo(2400, 1600).jpegsave_buffer(
                            vips::VImage::option()->set("Q", 85))));
    images.emplace_back("photos/portrait.jpg",
                        to_string(synthetic_photo(1200, 1800).jpegsave_buffer(
                            vips::VImage::option()->set("Q", 85))));
    images.emplace_back("brand/logo.png", to_string(transparent_logo(800).pngsave_buffer()));
    images.emplace_back("photos/small.webp",
                        to_string(synthetic_photo(640, 480).webpsave_buffer(
                            vips::VImage::option()->set("Q", 80))));
    return images;
}

} // namespace cdn::transform
