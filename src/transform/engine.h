#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
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

/**
 * Reads the header only and checks it against the limits: 413 source_too_large for bytes,
 * pixels, frames or a progressive image over its own limit; 422 unprocessable_image for data
 * no allowed loader accepts.
 */
core::Result<SourceInfo> probe_source(std::string_view bytes, const Limits& limits);

/**
 * Runs the pipeline of delivery.md on one original and encodes the result. Pure: bytes and spec
 * in, bytes out; no network, no database. Must run on a transform worker thread; ends its
 * libvips job before returning. A run past `deadline` is killed: 503 transform_timeout.
 */
core::Result<EncodedImage> transform_image(std::string_view bytes, const TransformSpec& spec,
                                           const Limits& limits,
                                           std::chrono::steady_clock::time_point deadline);

} // namespace cdn::transform
