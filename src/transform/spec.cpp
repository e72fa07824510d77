#include "transform/spec.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <iterator>

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

/** Appends the canonical string's parts without format strings: it is built on every request
 *  (the cache key), and the bytes must stay exactly what `fmt::format` wrote before (the keys
 *  of existing disk and shared tiers). Doubles still go through fmt's own formatter. */
class Canonical {
public:
    // Room for the usual spec's ~150 bytes at once: no regrowth on every request.
    Canonical() { out_.reserve(RESERVED); }
    Canonical& text(std::string_view s) {
        out_ += s;
        return *this;
    }
    Canonical& number(std::uint64_t n) { return text(fmt::format_int(n).str()); }
    Canonical& flag(bool b) { return text(b ? "true" : "false"); }
    Canonical& hex2(std::uint8_t n) {
        constexpr std::string_view DIGITS = "0123456789abcdef";
        out_ += DIGITS[n >> 4];
        out_ += DIGITS[n & 0xf];
        return *this;
    }
    Canonical& fixed4(double d) {
        fmt::format_to(std::back_inserter(out_), FMT_COMPILE("{:.4f}"), d);
        return *this;
    }
    Canonical& opt(const std::optional<std::uint32_t>& n) { return n ? number(*n) : text("-"); }
    Canonical& opt(const std::optional<double>& d) {
        if (!d) {
            return text("-");
        }
        fmt::format_to(std::back_inserter(out_), FMT_COMPILE("{}"), *d);
        return *this;
    }
    std::string take() { return std::move(out_); }

private:
    static constexpr std::size_t RESERVED = 192;
    std::string out_;
};

} // namespace

std::string TransformSpec::canonical() const {
    // Every field, in a fixed order, so that equal specs give equal strings and cache keys.
    Canonical c;
    c.text("w=").opt(width).text(";h=").opt(height).text(";fit=").text(fit_name(fit));
    c.text(";g=").number(static_cast<std::uint64_t>(gravity.kind)).text(":").fixed4(gravity.x);
    c.text(":").fixed4(gravity.y).text(";f=").text(choice_name(format));
    c.text(";json=").flag(describe_only).text(";q=").opt(quality).text(";c=").flag(compress);
    c.text(";");
    if (rect) {
        c.text("rect=").number(rect->x).text(",").number(rect->y).text(",");
        c.number(rect->width).text(",").number(rect->height).text(";");
    }
    c.text("rot=").number(rotate).text(";flip=").number(static_cast<std::uint64_t>(flip));
    c.text(";blur=").opt(blur).text(";sharpen=").opt(sharpen).text(";trim=").opt(trim);
    c.text(";bg=").hex2(background.r).hex2(background.g).hex2(background.b).hex2(background.a);
    c.text(";meta=").number(static_cast<std::uint64_t>(metadata)).text(";anim=").flag(anim);
    c.text(";lossless=").flag(lossless).text(";v=").text(version);
    if (padding > 0) {
        c.text(";pad=").number(padding); // only when set, like cap
    }
    if (jpeg_scan != JpegScan::BySize) { // only when forced, like cap
        c.text(jpeg_scan == JpegScan::Progressive ? ";progressive" : ";baseline");
    }
    if (cap_to_limits) {
        // Only when set, so that the keys of every other spec stay as they were.
        c.text(";cap");
    }
    return c.take();
}

std::uint32_t default_quality(ImageFormat format, bool compress) {
    const std::uint32_t base = format == ImageFormat::Avif ? 60 : 80;
    return compress ? base - COMPRESS_QUALITY_DROP : base;
}

std::uint32_t effective_quality(const TransformSpec& spec, ImageFormat format) {
    return spec.quality ? *spec.quality : default_quality(format, spec.compress);
}

} // namespace cdn::transform
