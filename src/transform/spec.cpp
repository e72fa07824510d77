#include "transform/spec.h"

#include <fmt/format.h>

namespace cdn::transform {
namespace {

constexpr std::uint32_t COMPRESS_QUALITY_DROP = 10;

std::string_view fit_name(Fit f) {
    switch (f) {
    case Fit::ScaleDown: return "scale-down";
    case Fit::Contain: return "contain";
    case Fit::Cover: return "cover";
    case Fit::Crop: return "crop";
    case Fit::Pad: return "pad";
    case Fit::Squeeze: return "squeeze";
    }
    return "?";
}

std::string_view choice_name(FormatChoice f) {
    switch (f) {
    case FormatChoice::SameAsSource: return "source";
    case FormatChoice::Jpeg: return "jpeg";
    case FormatChoice::Png: return "png";
    case FormatChoice::Webp: return "webp";
    case FormatChoice::Avif: return "avif";
    case FormatChoice::Gif: return "gif";
    case FormatChoice::JpegOrPngByAlpha: return "jpeg-or-png";
    }
    return "?";
}

template <class T>
std::string opt(const std::optional<T>& v) {
    return v ? fmt::format("{}", *v) : std::string("-");
}

} // namespace

std::string TransformSpec::canonical() const {
    // Every field, in a fixed order, so that equal specs give equal strings and cache keys.
    std::string out = fmt::format(
        "w={};h={};fit={};g={}:{:.4f}:{:.4f};f={};json={};q={};c={};", opt(width), opt(height),
        fit_name(fit), static_cast<int>(gravity.kind), gravity.x, gravity.y, choice_name(format),
        describe_only, opt(quality), compress);
    if (rect) {
        out += fmt::format("rect={},{},{},{};", rect->x, rect->y, rect->width, rect->height);
    }
    out += fmt::format("rot={};flip={};blur={};sharpen={};trim={};bg={:02x}{:02x}{:02x}{:02x};"
                       "meta={};anim={};lossless={};v={}",
                       rotate, static_cast<int>(flip), opt(blur), opt(sharpen), opt(trim),
                       background.r, background.g, background.b, background.a,
                       static_cast<int>(metadata), anim, lossless, version);
    if (padding > 0) {
        out += fmt::format(";pad={}", padding); // only when set, like cap
    }
    if (jpeg_scan != JpegScan::BySize) { // only when forced, like cap
        out += jpeg_scan == JpegScan::Progressive ? ";progressive" : ";baseline";
    }
    if (cap_to_limits) {
        // Only when set, so that the keys of every other spec stay as they were.
        out += ";cap";
    }
    return out;
}

std::uint32_t default_quality(ImageFormat format, bool compress) {
    const std::uint32_t base = format == ImageFormat::Avif ? 60 : 80;
    return compress ? base - COMPRESS_QUALITY_DROP : base;
}

std::uint32_t effective_quality(const TransformSpec& spec, ImageFormat format) {
    return spec.quality ? *spec.quality : default_quality(format, spec.compress);
}

} // namespace cdn::transform
