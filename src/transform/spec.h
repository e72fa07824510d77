#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "transform/media_type.h"
#include "transform/options.h"

namespace cdn::transform {

/** The output format as far as negotiation can decide it before the source is decoded. */
enum class FormatChoice {
    /** No `format`: the original's format (SVG, HEIC, TIFF, JPEG XL become PNG or JPEG). */
    SameAsSource,
    Jpeg,
    Png,
    Webp,
    Avif,
    Gif,
    /** `format=auto` for a client that takes neither AVIF nor WebP: JPEG if opaque, else PNG. */
    JpegOrPngByAlpha,
};

/**
 * A fully resolved transform: aliases gone, dpr folded into the pixel box, defaults filled in,
 * format negotiated. Its canonical() string is what the cache key hashes.
 */
struct TransformSpec {
    std::optional<std::uint32_t> width;
    std::optional<std::uint32_t> height;
    Fit fit = Fit::ScaleDown;
    Gravity gravity;
    FormatChoice format = FormatChoice::SameAsSource;
    /** A JPEG's scan: by size, or forced by `fm=pjpg` / `format=baseline-jpeg`. */
    JpegScan jpeg_scan = JpegScan::BySize;
    /** `format=json`: describe the output instead of sending it. */
    bool describe_only = false;
    /** Encoder quality; nullopt means the format's default (lowered by `compress`). A `q` equal
     *  to the default the URL names is nullopt too (negotiate), so both spellings share a key. */
    std::optional<std::uint32_t> quality;
    bool compress = false;
    std::optional<CropRect> rect;
    std::uint32_t rotate = 0;
    Flip flip = Flip::None;
    std::optional<double> blur;
    std::optional<double> sharpen;
    std::optional<std::uint32_t> trim;
    /** imgix `pad`: a border of `background` this wide on every side, inside the box. */
    std::uint32_t padding = 0;
    /** Pad colour and what transparency is flattened onto for JPEG. Default opaque white. */
    Rgba background;
    MetadataPolicy metadata = MetadataPolicy::None;
    bool anim = true;
    bool lossless = false;
    /** `v`: part of the key only. */
    std::string version;
    /** The box came through `dpr` (or a DPR hint): an output over the server's limits is made
     *  smaller instead of refused (delivery.md). */
    bool cap_to_limits = false;

    std::string canonical() const;
};

/** The default encoder quality of `format` (jpeg and webp 80, avif 60), 10 lower with
 *  `compress`. */
std::uint32_t default_quality(ImageFormat format, bool compress);

/** Encoder quality for `format` under this spec (explicit, else per-format default). */
std::uint32_t effective_quality(const TransformSpec& spec, ImageFormat format);

} // namespace cdn::transform
