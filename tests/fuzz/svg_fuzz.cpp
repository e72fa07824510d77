// An SVG original as the edge serves it (edge/delivery.cpp: always rasterised, never sent as
// SVG): transform::rasterise_svg, which runs the pre-checks (sniff_format's root-element test,
// probe_source's header read and pixel limit) before librsvg draws it. Small limits keep each
// run short. Property: what comes out is a PNG within the pixel limit.
#include <chrono>
#include <cstdlib>

#include "fuzz_check.h"
#include "transform/engine.h"
#include "transform/media_type.h"
#include "transform/vips_runtime.h"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** argv) {
    if (!cdn::transform::init_vips((*argv)[0])) {
        std::abort();
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdn;
    transform::Limits limits;
    limits.max_original_pixels = 250'000;
    limits.progressive_max_pixels = 250'000;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    auto png = transform::rasterise_svg(fuzz::text(data, size), limits, deadline);
    if (png) {
        FUZZ_CHECK(transform::sniff_format(*png) == transform::ImageFormat::Png);
        auto info = transform::probe_source(*png, limits);
        FUZZ_CHECK(info.has_value());
        FUZZ_CHECK(std::uint64_t{info->width} * info->height <= limits.max_original_pixels);
    }
    return 0;
}
