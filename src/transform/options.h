#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace cdn::transform {

enum class Fit { ScaleDown, Contain, Cover, Crop, Pad, Squeeze };

enum class GravityKind {
    Center, North, South, East, West, NorthEast, NorthWest, SouthEast, SouthWest,
    /** libvips attention (saliency). */
    Auto,
    Entropy,
    /** A focal point: x and y in 0..1. */
    Focal,
};

struct Gravity {
    GravityKind kind = GravityKind::Center;
    double x = 0.5;
    double y = 0.5;
    bool operator==(const Gravity&) const = default;
};

/** `format=`: Original means "absent" (keep the original's format). */
enum class RequestedFormat { Original, Auto, Jpeg, Png, Webp, Avif, Gif, Json };

enum class MetadataPolicy { None, Copyright, Keep };

enum class Flip { None, Horizontal, Vertical, Both };

struct CropRect {
    std::uint32_t x = 0;
    std::uint32_t y = 0;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    bool operator==(const CropRect&) const = default;
};

struct Rgba {
    std::uint8_t r = 255;
    std::uint8_t g = 255;
    std::uint8_t b = 255;
    std::uint8_t a = 255;
    bool operator==(const Rgba&) const = default;
};

/** A JPEG's scan: baseline up to 10 KB of output and progressive above (delivery.md Formats),
 *  or forced one way by the URL. */
enum class JpegScan : std::uint8_t { BySize, Progressive, Baseline };

/**
 * Delivery options exactly as requested (delivery.md's table), validated and typed, before
 * negotiation: aliases resolved, ranges checked, nothing defaulted that the request did not say
 * (so a preset can be overlaid by the request's own options).
 */
struct DeliveryOptions {
    std::optional<std::uint32_t> width;
    std::optional<std::uint32_t> height;
    std::optional<double> dpr;
    std::optional<Fit> fit;
    std::optional<Gravity> gravity;
    std::optional<std::uint32_t> quality;
    std::optional<RequestedFormat> format;
    /** How a JPEG output is scanned: by its size (delivery.md), or always progressive (imgix's
     *  `fm=pjpg`) or always baseline (`format=baseline-jpeg`, Cloudflare's name); each forced
     *  scan is a cache variant of its own. */
    JpegScan jpeg_scan = JpegScan::BySize;
    /** `auto=compress`: lowers the default quality by 10. */
    bool compress = false;
    std::optional<CropRect> rect;
    std::optional<std::uint32_t> rotate;
    std::optional<Flip> flip;
    std::optional<double> blur;
    std::optional<double> sharpen;
    std::optional<std::uint32_t> trim;
    std::optional<Rgba> background;
    /** imgix `pad`: a border of `background` on every side, inside the width × height box. */
    std::optional<std::uint32_t> padding;
    std::optional<MetadataPolicy> metadata;
    std::optional<bool> anim;
    std::optional<bool> lossless;
    std::optional<std::string> preset;
    /** Cache-busting version: only part of the cache key. */
    std::optional<std::string> version;
    std::optional<std::string> signature;
    std::optional<std::int64_t> expires;
    /** imgix's `ch=Width,DPR`: the Accept-CH value to answer with ("Sec-CH-Width, Sec-CH-DPR").
     *  The hints themselves are honoured whether or not `ch` asks (delivery.md Client hints),
     *  so it changes a response header, never the image: not part of the cache key. */
    std::optional<std::string> accept_ch;

    /** True when any option other than v, s, exp (and preset's own options) is present: the
     *  request asks for a transform, not the original. */
    bool wants_transform() const;
    /** Fills every option unset here from `base` (a preset): the request's own options win. */
    void overlay_on(const DeliveryOptions& base);
};

/**
 * Parses query parameters into DeliveryOptions. imgix's client-identification parameters
 * (`ixlib`, `ixid`) are accepted and ignored. Errors: unknown_parameter (naming it),
 * unsupported_parameter for imgix parameters or values we do not implement (naming them),
 * invalid_parameter naming the option and its allowed range (also for an option given twice
 * or with its alias), dimension_too_large when width or height exceed `max_dimension`.
 */
core::Result<DeliveryOptions> parse_delivery_options(
    const std::vector<std::pair<std::string, std::string>>& params, std::uint32_t max_dimension);

/** imgix's client identification (`ixlib`, `ixid`): accepted with any value and ignored, so
 *  also allowed next to a preset under presets_only. */
bool is_ignored_parameter(std::string_view name);

/**
 * A preset's stored options (`w=400&h=300&fit=cover`), validated exactly as delivery options.
 * A preset cannot name another preset, nor carry `v`, `s` or `exp`, which belong to a URL.
 */
core::Result<DeliveryOptions> parse_preset_options(std::string_view query,
                                                   std::uint32_t max_dimension);

/**
 * Every set option as `name=value` pairs joined by '&', canonical names in a fixed order,
 * numbers normalised (`dpr=2`, not `2.0`): equal options give equal strings whatever aliases or
 * order the request used. `s` and `exp` are left out (they do not change the image); `v` is kept.
 * Before negotiation, so `format=auto` stays `auto`: the cache key uses TransformSpec::canonical.
 */
std::string canonical_string(const DeliveryOptions& options);

} // namespace cdn::transform
