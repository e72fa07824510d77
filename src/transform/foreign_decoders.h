#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "transform/deadline.h"

namespace cdn::transform {

/** The size of an image as its header states it. */
struct ForeignHeader {
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    bool has_alpha = false;
};

/** 8-bit sRGB (3 bands) or sRGBA (4 bands) pixels, rows packed. */
struct DecodedPixels {
    std::vector<std::uint8_t> pixels;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    int bands = 3;
};

// The libvips build we link (DEVELOPERS.md) has no HEVC decoder and no JPEG XL loader: these
// formats are decoded with Debian's libheif (libde265) and libjxl, then handed to libvips.

/** HEIC header (no pixel decoding). Errors: unprocessable_image. */
core::Result<ForeignHeader> read_heic_header(std::string_view bytes);
/**
 * The HEIC primary image, orientation applied. Errors: unprocessable_image; transform_timeout
 * when the deadline has passed before or after decoding: libheif 1.15 has no way to stop a
 * decode, so one decode (bounded by the original pixel limit) may overrun the deadline.
 */
core::Result<DecodedPixels> decode_heic(std::string_view bytes, Deadline deadline);

/** JPEG XL header (no pixel decoding). Errors: unprocessable_image. */
core::Result<ForeignHeader> read_jxl_header(std::string_view bytes);
/** The first JPEG XL frame. Errors: unprocessable_image (also for truncated data);
 *  transform_timeout, checked between the decoder's work items (256×256-pixel groups). */
core::Result<DecodedPixels> decode_jxl(std::string_view bytes, Deadline deadline);

} // namespace cdn::transform
