#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "transform/decoded_cache.h"
#include "transform/limits.h"
#include "transform/media_type.h"
#include "transform/spec.h"

namespace cdn::transform {

/** What the header of an original says, read without decoding its pixels. */
struct SourceInfo {
    ImageFormat format = ImageFormat::Unknown;
    std::uint32_t width = 0;
    /** Height of one frame. */
    std::uint32_t height = 0;
    std::uint32_t frames = 1;
    bool has_alpha = false;
    /** Progressive JPEG or interlaced PNG: decoded whole, never shrunk on load. */
    bool interlaced = false;
    /** EXIF orientation, 1–8; 5–8 swap width and height when applied. */
    int orientation = 1;
    std::uint64_t bytes = 0;
};

struct EncodedImage {
    std::string bytes;
    ImageFormat format = ImageFormat::Unknown;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    std::uint32_t frames = 1;
    SourceInfo source;
    /** Time spent building and running the pipeline, and encoding, for Server-Timing. */
    double transform_ms = 0;
    double encode_ms = 0;
};

/** Width and height of one output frame. */
struct OutputSize {
    std::uint64_t width = 0;
    std::uint64_t height = 0;
    bool operator==(const OutputSize&) const = default;
};

/**
 * The output size of `spec` on `source`, from the header alone, as the pipeline will compute
 * it: orientation, `rect`, `rotate`, then the fit. With `trim`, as if nothing were trimmed; a
 * trimmed image of another shape can fit larger, so the pipeline checks again after trimming.
 */
OutputSize output_size(const TransformSpec& spec, const SourceInfo& source);

/**
 * The spec to run on `source` within `max_output_dimension` (each side) and `max_output_pixels`:
 * itself when its output fits; with cap_to_limits (dpr) its box shrunk until the output fits;
 * else 400 dimension_too_large. cover and crop scale before they crop to the box: that scaled
 * image must stay within `max_original_pixels` too. Reads no pixel.
 */
core::Result<TransformSpec> bound_output(const TransformSpec& spec, const SourceInfo& source,
                                         const Limits& limits);

/**
 * Reads the header only and checks it against the limits: 413 source_too_large for bytes,
 * pixels, frames or a progressive image over its own limit; 422 unprocessable_image for data
 * no allowed loader accepts.
 */
core::Result<SourceInfo> probe_source(std::string_view bytes, const Limits& limits);

/**
 * Runs the pipeline of delivery.md on one original and encodes the result. Pure: bytes and spec
 * in, bytes out; no network, no database. Must run on a transform worker thread; ends its
 * libvips job before returning. Errors: those of probe_source; 400 dimension_too_large (see
 * bound_output) before any decode; 503 transform_timeout for a run past `deadline`, which
 * bounds every step from the header read to the last encoded byte (docs/config.md says how
 * closely for each decoder). With `reuse`, the decode of the original (at the shrink-on-load
 * the spec needs) comes from or goes to its cache; the output is the same byte for byte.
 */
core::Result<EncodedImage> transform_image(std::string_view bytes, const TransformSpec& spec,
                                           const Limits& limits,
                                           std::chrono::steady_clock::time_point deadline,
                                           const DecodeReuse& reuse = {});

/**
 * An SVG original rasterised to PNG at its own size (the "original" of an SVG), loaded from
 * memory only (no file or network references), within the original limits and `deadline`.
 */
core::Result<std::string> rasterise_svg(std::string_view svg, const Limits& limits,
                                        std::chrono::steady_clock::time_point deadline);

} // namespace cdn::transform
