#include "transform/cloudflare_options.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>

namespace cdn::transform {
namespace {

using core::Errc;

/** Cloudflare's option names (and short aliases) that are our canonical options as they are. */
constexpr auto RENAMED = std::to_array<std::pair<std::string_view, std::string_view>>({
    {"width", "width"},       {"w", "width"},     {"height", "height"}, {"h", "height"},
    {"quality", "quality"},   {"q", "quality"},   {"format", "format"}, {"f", "format"},
    {"gravity", "gravity"},   {"g", "gravity"},   {"fit", "fit"},       {"dpr", "dpr"},
    {"sharpen", "sharpen"},   {"blur", "blur"},   {"rotate", "rotate"}, {"flip", "flip"},
    {"metadata", "metadata"}, {"anim", "anim"},   {"background", "background"},
});

/** Cloudflare options with no equivalent here, and why: a 400 naming them, not a silent
 *  ignore, since the image would not be what the URL asks for. */
constexpr auto REFUSED = std::to_array<std::pair<std::string_view, std::string_view>>({
    {"brightness", "colour adjustments are not part of the pipeline"},
    {"contrast", "colour adjustments are not part of the pipeline"},
    {"gamma", "colour adjustments are not part of the pipeline"},
    {"saturation", "colour adjustments are not part of the pipeline"},
    {"border", "borders are not drawn; use fit=pad with background"},
    {"zoom", "face detection does not exist yet"},
    {"face-zoom", "face detection does not exist yet"},
    {"segment", "background removal does not exist"},
    {"slow-connection-quality", "network-quality client hints are not used"},
    {"scq", "network-quality client hints are not used"},
    {"draw", "overlays are not drawn"},
});

core::Error unsupported(std::string_view option, std::string_view why) {
    return core::make_error(Errc::UnsupportedParameter, "Cloudflare option '" +
                                                            std::string(option) +
                                                            "' is not supported: " + std::string(why));
}

/** `trim.left`, `trim.top`, `trim.width`, `trim.height`: one rectangle, gathered over the
 *  whole options string. */
struct TrimBox {
    std::optional<std::string> left, top, width, height;
    bool any() const { return left || top || width || height; }
};

struct Translation {
    CloudflareOptions out;
    TrimBox trim;
};

std::optional<unsigned> quality_level(std::string_view word) {
    if (word == "high") {
        return QUALITY_HIGH;
    }
    if (word == "medium-high") {
        return QUALITY_MEDIUM_HIGH;
    }
    if (word == "medium-low") {
        return QUALITY_MEDIUM_LOW;
    }
    if (word == "low") {
        return QUALITY_LOW;
    }
    return std::nullopt;
}

/** The canonical value of a renamed option's Cloudflare value; nullopt drops the option. */
core::Result<std::optional<std::string>> canonical_value(std::string_view canonical,
                                                         std::string value) {
    if (canonical == "quality") {
        if (auto level = quality_level(value)) {
            return std::optional(std::to_string(*level));
        }
    } else if (canonical == "background" && value.starts_with('#')) {
        return std::optional(value.substr(1));
    } else if (canonical == "gravity" && value == "face") {
        return unsupported("gravity=face", "face detection does not exist yet");
    } else if (canonical == "width" && value == "auto") {
        // The width then comes from Sec-CH-Width, as for any request without one.
        return std::optional<std::string>();
    }
    return std::optional(std::move(value));
}

core::Result<void> translate_trim_part(std::string_view name, std::string value, TrimBox& box) {
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        return core::make_error(Errc::InvalidParameter,
                                "'" + std::string(name) + "' must be a number of pixels");
    }
    auto* slot = name == "trim.left"  ? &box.left
                 : name == "trim.top" ? &box.top
                 : name == "trim.width" ? &box.width
                                        : &box.height;
    if (*slot) {
        return core::make_error(Errc::InvalidParameter,
                                "'" + std::string(name) + "' may be given only once");
    }
    *slot = std::move(value);
    return {};
}

/** `trim=top;right;bottom;left` cuts by sides, which needs the original's size, unknown until
 *  it is fetched; only the no-op 0;0;0;0 is accepted. */
core::Result<void> translate_trim_sides(const std::string& value) {
    const auto sides = core::split(value, ';');
    const bool zeros = sides.size() == 4 && std::all_of(sides.begin(), sides.end(), [](auto s) {
                           return !s.empty() && s.find_first_not_of('0') == std::string_view::npos;
                       });
    if (zeros) {
        return {};
    }
    return unsupported("trim=" + value,
                       "cutting by sides needs the original's size; give the kept rectangle "
                       "as trim.left, trim.top, trim.width and trim.height");
}

core::Result<void> translate_special(std::string_view name, std::string value, Translation& t) {
    if (name == "onerror") {
        if (value != "redirect") {
            return core::make_error(Errc::InvalidParameter, "'onerror' must be redirect");
        }
        t.out.redirect_on_error = true;
        return {};
    }
    if (name == "compression") {
        // A latency hint: our encoders have one setting per format, so nothing changes.
        if (value != "fast") {
            return core::make_error(Errc::InvalidParameter, "'compression' must be fast");
        }
        return {};
    }
    if (name == "upscale") {
        // interpolate is Cloudflare's default and ours (libvips' kernel); generate is AI.
        if (value != "interpolate") {
            return unsupported("upscale=" + value, "only upscale=interpolate, the default");
        }
        return {};
    }
    if (name == "trim") {
        return translate_trim_sides(value);
    }
    if (name == "trim.left" || name == "trim.top" || name == "trim.width" ||
        name == "trim.height") {
        return translate_trim_part(name, std::move(value), t.trim);
    }
    const auto refused = std::find_if(REFUSED.begin(), REFUSED.end(),
                                      [name](const auto& r) { return r.first == name; });
    if (refused != REFUSED.end()) {
        return unsupported(name, refused->second);
    }
    return core::make_error(Errc::UnknownParameter,
                            "unknown parameter '" + std::string(name) + "'");
}

core::Result<void> translate_one(std::string_view name, std::string value, Translation& t) {
    const auto renamed = std::find_if(RENAMED.begin(), RENAMED.end(),
                                      [name](const auto& r) { return r.first == name; });
    if (renamed == RENAMED.end()) {
        return translate_special(name, std::move(value), t);
    }
    CDN_TRY(canonical, canonical_value(renamed->second, std::move(value)));
    if (canonical) {
        t.out.params.emplace_back(std::string(renamed->second), std::move(*canonical));
    }
    return {};
}

/** The trim.* rectangle as our `rect` (left and top default to 0, like Cloudflare's). */
core::Result<void> finish_trim(Translation& t) {
    const auto& box = t.trim;
    if (!box.any()) {
        return {};
    }
    if (!box.width || !box.height) {
        return unsupported("trim.left/trim.top without trim.width and trim.height",
                           "the kept rectangle needs both sizes, since the original's size is "
                           "not known when the URL is read");
    }
    t.out.params.emplace_back("rect", box.left.value_or("0") + "," + box.top.value_or("0") + "," +
                                          *box.width + "," + *box.height);
    return {};
}

} // namespace

core::Result<CloudflareOptions> translate_cloudflare_options(std::string_view options) {
    if (options.empty()) {
        return core::make_error(Errc::InvalidParameter,
                                "/cdn-cgi/image/ needs at least one option");
    }
    Translation t;
    for (const auto pair : core::split(options, ',')) {
        const auto eq = pair.find('=');
        auto value = core::percent_decode(pair.substr(eq + 1), false);
        if (eq == std::string_view::npos || eq == 0 || !value) {
            return core::make_error(Errc::InvalidParameter,
                                    "malformed option '" + std::string(pair) +
                                        "': Cloudflare options are name=value, comma-separated");
        }
        CDN_TRY_VOID(translate_one(pair.substr(0, eq), std::move(*value), t));
    }
    CDN_TRY_VOID(finish_trim(t));
    return std::move(t.out);
}

} // namespace cdn::transform
