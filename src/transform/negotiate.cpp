#include "transform/negotiate.h"

#include <charconv>
#include <cmath>

#include "core/strings.h"

namespace cdn::transform {
namespace {

/** True when the Accept header lists `type` with a non-zero q. */
bool accepts(std::string_view accept, std::string_view type) {
    for (auto item : core::split(accept, ',')) {
        const auto parts = core::split(item, ';');
        if (core::trim(parts.front()) != type) {
            continue;
        }
        for (std::size_t i = 1; i < parts.size(); ++i) {
            const auto param = core::trim(parts[i]);
            if (param.starts_with("q=") && std::strtod(std::string(param.substr(2)).c_str(), nullptr) <= 0) {
                return false;
            }
        }
        return true;
    }
    return false;
}

std::optional<double> parse_hint(std::optional<std::string_view> value) {
    if (!value) {
        return std::nullopt;
    }
    const auto text = core::trim(*value);
    double v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || !(v > 0) || !std::isfinite(v)) {
        return std::nullopt;
    }
    return v;
}

FormatChoice choose_auto(std::string_view accept, bool avif_allowed) {
    if (avif_allowed && accepts(accept, "image/avif")) {
        return FormatChoice::Avif;
    }
    return accepts(accept, "image/webp") ? FormatChoice::Webp : FormatChoice::JpegOrPngByAlpha;
}

core::Result<void> resolve_format(const DeliveryOptions& options, const ClientHints& hints,
                                  const CustomerPolicy& policy, Negotiated& out) {
    auto requested = options.format.value_or(policy.default_format.value_or(RequestedFormat::Original));
    if (requested == RequestedFormat::Json) {
        out.spec.describe_only = true;
        requested = policy.default_format.value_or(RequestedFormat::Original);
    }
    switch (requested) {
    case RequestedFormat::Original: out.spec.format = FormatChoice::SameAsSource; break;
    case RequestedFormat::Jpeg: out.spec.format = FormatChoice::Jpeg; break;
    case RequestedFormat::Png: out.spec.format = FormatChoice::Png; break;
    case RequestedFormat::Webp: out.spec.format = FormatChoice::Webp; break;
    case RequestedFormat::Gif: out.spec.format = FormatChoice::Gif; break;
    case RequestedFormat::Avif:
        if (!policy.avif_allowed) {
            return core::make_error(core::Errc::FeatureNotInPlan,
                                    "AVIF output is not part of this plan");
        }
        out.spec.format = FormatChoice::Avif;
        break;
    case RequestedFormat::Auto:
    case RequestedFormat::Json:
        out.spec.format = choose_auto(hints.accept, policy.avif_allowed);
        out.vary.emplace_back("Accept");
        break;
    }
    return {};
}

core::Result<std::optional<std::uint32_t>> scaled(std::optional<std::uint32_t> size, double dpr,
                                                  std::uint32_t max_dimension,
                                                  std::string_view name) {
    if (!size) {
        return std::optional<std::uint32_t>();
    }
    if (*size > max_dimension) {
        return core::make_error(core::Errc::DimensionTooLarge,
                                std::string(name) + " must be at most " +
                                    std::to_string(max_dimension) + " on this plan");
    }
    // dpr is capped rather than refused: a retina screen must not break an image.
    const double px = std::round(*size * dpr);
    return std::optional<std::uint32_t>(
        static_cast<std::uint32_t>(std::clamp(px, 1.0, static_cast<double>(max_dimension))));
}

/** The quality leaving `q` out stands for, as far as the URL tells (a path's extension is only
 *  a guess: an AVIF original named .jpg encodes at 60 when `q=80` is dropped); nullopt when the
 *  output never uses a quality. */
std::optional<std::uint32_t> named_default_quality(FormatChoice format, bool compress,
                                                   std::string_view path) {
    switch (format) {
    case FormatChoice::Png:
    case FormatChoice::Gif: return std::nullopt;
    case FormatChoice::Avif: return default_quality(ImageFormat::Avif, compress);
    case FormatChoice::SameAsSource:
        if (core::to_lower(path).ends_with(".avif")) {
            return default_quality(ImageFormat::Avif, compress);
        }
        break;
    default: break;
    }
    // JPEG and WebP; a PNG or GIF the other choices may give ignores the quality.
    return default_quality(ImageFormat::Jpeg, compress);
}

std::optional<std::uint32_t> requested_quality(const DeliveryOptions& options,
                                               const CustomerPolicy& policy, FormatChoice format,
                                               std::string_view path) {
    if (!options.quality) {
        return policy.default_quality;
    }
    if (policy.default_quality) {
        return options.quality; // equal to the customer's default: the same spec already
    }
    const auto named = named_default_quality(format, options.compress, path);
    return !named || *named == *options.quality ? std::nullopt : options.quality;
}

/** The width and dpr the output is sized with. */
struct SizingHints {
    std::optional<std::uint32_t> width;
    double dpr = 1.0;
};

/** The URL's width and dpr, else the client hints' (each hint used adds its header to Vary). */
SizingHints client_sizing(const DeliveryOptions& options, const ClientHints& hints,
                          std::uint32_t max_dimension, std::vector<std::string>& vary) {
    SizingHints out{.width = options.width, .dpr = options.dpr.value_or(1.0)};
    if (!options.dpr) {
        if (auto hint = parse_hint(hints.dpr)) {
            out.dpr = std::clamp(*hint, 1.0, 4.0);
            vary.emplace_back(hints.dpr_header);
        }
    }
    if (!out.width) {
        if (auto hint = parse_hint(hints.width); hint && *hint >= 1) {
            out.width = static_cast<std::uint32_t>(
                std::min(*hint, static_cast<double>(max_dimension)));
            vary.emplace_back(hints.width_header);
            // Sec-CH-Width is already in device pixels.
            if (!options.dpr) {
                out.dpr = 1.0;
            }
        }
    }
    return out;
}

/** The options the spec takes as they are, defaults filled in. */
void copy_plain_options(const DeliveryOptions& options, TransformSpec& spec) {
    spec.fit = options.fit.value_or(Fit::ScaleDown);
    spec.gravity = options.gravity.value_or(Gravity{});
    spec.compress = options.compress;
    spec.jpeg_scan = options.jpeg_scan;
    spec.padding = options.padding.value_or(0);
    spec.rect = options.rect;
    spec.rotate = options.rotate.value_or(0);
    spec.flip = options.flip.value_or(Flip::None);
    spec.blur = options.blur;
    spec.sharpen = options.sharpen;
    spec.trim = options.trim;
    spec.background = options.background.value_or(Rgba{});
    spec.metadata = options.metadata.value_or(MetadataPolicy::None);
    spec.anim = options.anim.value_or(true);
    spec.lossless = options.lossless.value_or(false);
    spec.version = options.version.value_or("");
}

} // namespace

core::Result<Negotiated> negotiate(const DeliveryOptions& options, const ClientHints& hints,
                                   const CustomerPolicy& policy, std::string_view path) {
    Negotiated out;
    auto& spec = out.spec;
    const auto sizing = client_sizing(options, hints, policy.max_dimension, out.vary);
    CDN_TRY(w, scaled(sizing.width, sizing.dpr, policy.max_dimension, "width"));
    CDN_TRY(h, scaled(options.height, sizing.dpr, policy.max_dimension, "height"));
    spec.width = w;
    spec.height = h;
    spec.cap_to_limits = sizing.dpr > 1.0 && (w || h);
    CDN_TRY_VOID(resolve_format(options, hints, policy, out));
    copy_plain_options(options, spec);
    spec.quality = requested_quality(options, policy, spec.format, path);
    return out;
}

} // namespace cdn::transform
