// What the edge and the upload route run on an original's bytes before any pixel is decoded:
// transform::sniff_format (magic numbers, SVG's root element) and transform::probe_source (the
// header read through the real loader allow-list of init_vips, checked against the limits).
// libvips and its loaders are not instrumented: this finds crashes, not coverage, inside them.
// Properties: an accepted source has the sniffed format, a size, and all the bytes counted.
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
    const auto bytes = fuzz::text(data, size);
    const auto sniffed = transform::sniff_format(bytes);
    auto source = transform::probe_source(bytes, transform::Limits{});
    if (source) {
        FUZZ_CHECK(source->format != transform::ImageFormat::Unknown);
        FUZZ_CHECK(source->format == sniffed);
        FUZZ_CHECK(source->width > 0 && source->height > 0);
        FUZZ_CHECK(source->bytes == size);
    }
    return 0;
}
