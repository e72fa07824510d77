#include "transform/options.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

#include "core/strings.h"

namespace cdn::transform {
namespace {

using core::Errc;
using Value = std::string_view;

/** A keyword value of an option. The first keyword of each value is its canonical spelling;
 *  later ones with the same value are aliases (imgix's `fit=max`, `gravity=top`...). Names and
 *  keywords match exactly (`fit=Cover` is invalid), as in Cloudflare and imgix: a lenient parser
 *  would only multiply the spellings that clients, docs and signed URLs disagree on. */
template <class T>
struct Keyword {
    std::string_view name;
    T value;
};

constexpr auto FITS = std::to_array<Keyword<Fit>>({
    {"scale-down", Fit::ScaleDown},
    {"contain", Fit::Contain},
    {"cover", Fit::Cover},
    {"crop", Fit::Crop},
    {"pad", Fit::Pad},
    {"squeeze", Fit::Squeeze},
    {"max", Fit::ScaleDown},
    {"clip", Fit::Contain},
    {"min", Fit::Crop},
    {"fill", Fit::Pad},
    {"scale", Fit::Squeeze},
});

constexpr auto GRAVITIES = std::to_array<Keyword<GravityKind>>({
    {"center", GravityKind::Center},
    {"north", GravityKind::North},
    {"south", GravityKind::South},
    {"east", GravityKind::East},
    {"west", GravityKind::West},
    {"northeast", GravityKind::NorthEast},
    {"northwest", GravityKind::NorthWest},
    {"southeast", GravityKind::SouthEast},
    {"southwest", GravityKind::SouthWest},
    {"auto", GravityKind::Auto},
    {"entropy", GravityKind::Entropy},
    {"top", GravityKind::North},
    {"bottom", GravityKind::South},
    {"right", GravityKind::East},
    {"left", GravityKind::West},
});

constexpr auto FORMATS = std::to_array<Keyword<RequestedFormat>>({
    {"auto", RequestedFormat::Auto},
    {"jpeg", RequestedFormat::Jpeg},
    {"png", RequestedFormat::Png},
    {"webp", RequestedFormat::Webp},
    {"avif", RequestedFormat::Avif},
    {"gif", RequestedFormat::Gif},
    {"json", RequestedFormat::Json},
    {"jpg", RequestedFormat::Jpeg},
});

constexpr auto ROTATIONS =
    std::to_array<Keyword<std::uint32_t>>({{"0", 0}, {"90", 90}, {"180", 180}, {"270", 270}});

constexpr auto FLIPS = std::to_array<Keyword<Flip>>(
    {{"h", Flip::Horizontal}, {"v", Flip::Vertical}, {"hv", Flip::Both}, {"vh", Flip::Both}});

constexpr auto METADATA =
    std::to_array<Keyword<MetadataPolicy>>({{"none", MetadataPolicy::None},
                                            {"copyright", MetadataPolicy::Copyright},
                                            {"keep", MetadataPolicy::Keep}});

constexpr auto BOOLEANS =
    std::to_array<Keyword<bool>>({{"true", true}, {"false", false}, {"1", true}, {"0", false}});

constexpr std::size_t MAX_NAME_LENGTH = 64;
constexpr std::size_t MAX_VERSION_LENGTH = 64;
/** A `pad` border wider than this is no image any more. */
constexpr std::uint32_t MAX_PADDING = 1000;

template <class T, std::size_t N>
std::optional<T> find_keyword(const std::array<Keyword<T>, N>& words, std::string_view name) {
    for (const auto& word : words) {
        if (word.name == name) {
            return word.value;
        }
    }
    return std::nullopt;
}

template <class T, std::size_t N>
std::string_view keyword_name(const std::array<Keyword<T>, N>& words, T value) {
    for (const auto& word : words) {
        if (word.value == value) {
            return word.name;
        }
    }
    return "?";
}

/** The canonical keywords only, for messages: "scale-down, contain, ...", not the aliases. */
template <class T, std::size_t N>
std::string keyword_list(const std::array<Keyword<T>, N>& words) {
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
        if (keyword_name(words, words[i].value) != words[i].name) {
            continue;
        }
        out += out.empty() ? "" : ", ";
        out += words[i].name;
    }
    return out;
}

core::Error invalid(std::string_view name, std::string_view expected) {
    return core::make_error(Errc::InvalidParameter,
                            std::string(name) + " must be " + std::string(expected));
}

/** An imgix parameter or value we know but do not implement (docs/compat.md). */
core::Error unsupported(std::string_view what, std::string_view why) {
    return core::make_error(Errc::UnsupportedParameter,
                            std::string(what) + " is not supported: " + std::string(why));
}

/** imgix parameters refused by name rather than as unknown, with what they would need. */
struct Refused {
    std::string_view why;
    /** Space-separated parameter names. */
    std::string_view names;
};

template <class T, std::size_t N>
core::Result<T> one_of(std::string_view name, Value value, const std::array<Keyword<T>, N>& words) {
    if (auto found = find_keyword(words, value)) {
        return *found;
    }
    return invalid(name, "one of " + keyword_list(words));
}

/** Up to 6 decimals with trailing zeros trimmed: 2 -> "2", 1.5 -> "1.5". */
std::string format_number(double value) {
    std::array<char, 64> buf{};
    const auto [end, ec] =
        std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::fixed, 6);
    std::string out(buf.data(), ec == std::errc{} ? end : buf.data());
    if (out.find('.') != std::string::npos) {
        out.erase(out.find_last_not_of('0') + 1);
        if (out.back() == '.') {
            out.pop_back();
        }
    }
    return out == "-0" ? "0" : out;
}

bool is_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/** Plain decimals only ("1", "1.5"): from_chars alone would also take "-1", "1e3", "nan" and
 *  "inf", none of which a URL option should mean. */
std::optional<double> parse_decimal(std::string_view s) {
    const auto dot = s.find('.');
    if (!is_digits(s.substr(0, dot)) ||
        (dot != std::string_view::npos && !is_digits(s.substr(dot + 1)))) {
        return std::nullopt;
    }
    double value = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

core::Result<double> number_in(std::string_view name, Value value, double lo, double hi) {
    const auto n = parse_decimal(value);
    if (!n || *n < lo || *n > hi) {
        return invalid(name, "a number from " + format_number(lo) + " to " + format_number(hi));
    }
    return *n;
}

core::Result<std::uint32_t> integer_in(std::string_view name, Value value, std::uint32_t lo,
                                       std::uint32_t hi) {
    const auto n = core::parse_int(value);
    if (!n || *n < lo || *n > hi) {
        return invalid(name, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    return static_cast<std::uint32_t>(*n);
}

/** width/height: above the maximum is its own error (never clamped), so a client can tell a
 *  typo from a plan limit. Digits too long for int64 are still "too large", not malformed. */
core::Result<std::uint32_t> dimension(std::string_view name, Value value, std::uint32_t max) {
    const auto n = core::parse_int(value);
    if ((n && *n > max) || (!n && is_digits(value))) {
        return core::make_error(Errc::DimensionTooLarge, std::string(name) + " must be at most " +
                                                             std::to_string(max) +
                                                             " (the maximum dimension)");
    }
    return integer_in(name, value, 1, max);
}

std::optional<Gravity> parse_focal(Value value) {
    const auto parts = core::split(value, 'x');
    if (parts.size() != 2) {
        return std::nullopt;
    }
    const auto x = parse_decimal(parts[0]);
    const auto y = parse_decimal(parts[1]);
    if (!x || !y || *x > 1 || *y > 1) {
        return std::nullopt;
    }
    return Gravity{GravityKind::Focal, *x, *y};
}

core::Result<Gravity> parse_gravity(Value value) {
    if (auto kind = find_keyword(GRAVITIES, value)) {
        return Gravity{*kind};
    }
    if (auto focal = parse_focal(value)) {
        return *focal;
    }
    return invalid("gravity", "one of " + keyword_list(GRAVITIES) +
                                  ", or a focal point XxY with X and Y from 0 to 1");
}

core::Result<CropRect> parse_rect(Value value) {
    const auto parts = core::split(value, ',');
    std::array<std::uint32_t, 4> n{};
    bool ok = parts.size() == n.size();
    for (std::size_t i = 0; ok && i < n.size(); ++i) {
        const auto v = core::parse_int(parts[i]);
        ok = v && *v >= 0 && *v <= std::numeric_limits<std::uint32_t>::max();
        n[i] = ok ? static_cast<std::uint32_t>(*v) : 0;
    }
    // Only the shape is checked here: bounds need the original's size, known after the fetch.
    if (!ok || n[2] == 0 || n[3] == 0) {
        return invalid("rect", "x,y,w,h: non-negative integers with w and h at least 1");
    }
    return CropRect{n[0], n[1], n[2], n[3]};
}

std::optional<std::uint8_t> hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return static_cast<std::uint8_t>(c - '0');
    }
    if (c >= 'a' && c <= 'f') {
        return static_cast<std::uint8_t>(c - 'a' + 10);
    }
    if (c >= 'A' && c <= 'F') {
        return static_cast<std::uint8_t>(c - 'A' + 10);
    }
    return std::nullopt;
}

core::Result<Rgba> parse_color(Value value) {
    std::array<std::uint8_t, 8> d{};
    bool ok = value.size() == 3 || value.size() == 6 || value.size() == 8;
    for (std::size_t i = 0; ok && i < value.size(); ++i) {
        const auto digit = hex_digit(value[i]);
        ok = digit.has_value();
        d[i] = digit.value_or(0);
    }
    if (!ok) {
        return invalid("background", "a hex color RGB, RRGGBB or RRGGBBAA");
    }
    const auto byte = [&](std::size_t hi, std::size_t lo) {
        return static_cast<std::uint8_t>(d[hi] * 16 + d[lo]);
    };
    if (value.size() == 3) {
        // Shorthand: each digit stands for itself twice, "f0a" = "ff00aa".
        return Rgba{byte(0, 0), byte(1, 1), byte(2, 2), 255};
    }
    return Rgba{byte(0, 1), byte(2, 3), byte(4, 5),
                value.size() == 8 ? byte(6, 7) : std::uint8_t{255}};
}

core::Result<std::string> parse_preset(Value value) {
    const bool ok = !value.empty() && value.size() <= MAX_NAME_LENGTH &&
                    std::all_of(value.begin(), value.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                               (c >= '0' && c <= '9') || c == '_' || c == '-';
                    });
    if (!ok) {
        return invalid("preset", "a name of 1 to " + std::to_string(MAX_NAME_LENGTH) +
                                     " characters from A-Z, a-z, 0-9, _ and -");
    }
    return std::string(value);
}

core::Result<std::string> parse_signature(Value value) {
    // Stored as given: only security/ knows what a valid signature looks like.
    if (value.empty()) {
        return invalid("s", "a non-empty signature");
    }
    return std::string(value);
}

core::Result<std::string> parse_version(Value value) {
    if (value.size() > MAX_VERSION_LENGTH) {
        return invalid("v", "at most " + std::to_string(MAX_VERSION_LENGTH) + " characters");
    }
    return std::string(value);
}

core::Result<std::int64_t> parse_expiry(Value value) {
    const auto n = core::parse_int(value);
    if (!n || *n <= 0) {
        return invalid("exp", "a positive integer (unix seconds)");
    }
    return *n;
}

/** imgix's rendering API parameters that have no counterpart here (docs/compat.md lists each),
 *  by family: a trailing '*' matches a prefix. Answered 400 unsupported_parameter, so a client
 *  moving from imgix learns what is missing instead of reading "unknown". imgix's `exp`
 *  (exposure) is not here: `exp` is our signed-URL expiry. */
constexpr auto REFUSED = std::to_array<Refused>({
    {"color adjustments", "bri con gam high hue invert sat shad vib usm usmrad"},
    {"blending", "blend blend-*"},
    {"borders and per-side padding", "border border-* pad-*"},
    {"color palette extraction", "palette colors prefix"},
    {"color quantization and color space", "colorquant cs chromasub dpi"},
    {"face detection", "faces faceindex facepad"},
    {"fill modes", "fill fill-*"},
    {"focal point zoom and debug", "fp-z fp-debug"},
    {"download names", "dl"},
    {"masks", "mask mask-* corner-radius"},
    {"noise reduction", "nr nrs"},
    {"PDF pages", "page pdf-annotation"},
    {"aspect ratio and min/max sizes", "ar min-w min-h max-w max-h"},
    {"stylize effects", "duotone duotone-alpha htn monochrome px sepia"},
    {"text and typesetting", "txt txt-* txt64 ~text"},
    {"trim by mean or standard deviation", "trim-color trim-md trim-sd trim-pad"},
    {"watermarks", "mark mark-*"},
    {"expiring URLs (use exp with a signed URL)", "expires"},
    {"background removal", "bg-remove bg-replace bg-*"},
});

std::optional<std::string_view> refused_reason(std::string_view name) {
    for (const auto& family : REFUSED) {
        for (const auto word : core::split(family.names, ' ')) {
            const bool prefix = word.ends_with('*');
            if (prefix ? name.starts_with(word.substr(0, word.size() - 1)) : name == word) {
                return family.why;
            }
        }
    }
    return std::nullopt;
}

/** imgix `fm` values with no output format of ours behind them. */
constexpr auto UNSUPPORTED_FORMATS =
    std::to_array<std::string_view>({"jp2", "jxl", "mp4", "webm", "png8", "png32", "blurhash"});

/** The parser's working state: the options, plus what is only resolved once every parameter is
 *  seen (fp-x/fp-y and auto=format clash with gravity and format wherever they appear). */
struct State {
    DeliveryOptions out;
    std::uint32_t max_dimension = 0;
    std::optional<double> fp_x;
    std::optional<double> fp_y;
    bool auto_format = false;
    /** imgix `trim=color`/`trim=auto`: the threshold comes from `trim-tol`. */
    bool trim_by_color = false;
    std::optional<std::uint32_t> trim_tolerance;
};

template <class T, class U>
core::Result<void> assign(std::optional<T>& field, core::Result<U> parsed) {
    if (!parsed) {
        return parsed.error();
    }
    field = std::move(*parsed);
    return {};
}

/** imgix values of `fit` we know but lack, with what they would need. */
constexpr auto UNSUPPORTED_VALUES = std::to_array<Refused>({
    {"face detection is not available", "fit=facearea"},
    {"edge-pixel extension is not available", "fit=clamp"},
    {"fill modes are not available", "fit=fillmax"},
});

core::Result<void> refuse_unsupported_value(std::string_view name, Value value) {
    const auto spelled = std::string(name) + "=" + std::string(value);
    for (const auto& refused : UNSUPPORTED_VALUES) {
        if (refused.names == spelled) {
            return unsupported(spelled, refused.why);
        }
    }
    return {};
}

core::Result<void> apply_auto(Value value, State& s) {
    for (const auto word : core::split(value, ',')) {
        if (word == "format") {
            s.auto_format = true;
        } else if (word == "compress") {
            s.out.compress = true;
        } else {
            return invalid("auto", "format, compress, or format,compress");
        }
    }
    return {};
}

core::Result<void> apply_fit(Value value, State& s) {
    CDN_TRY_VOID(refuse_unsupported_value("fit", value));
    return assign(s.out.fit, one_of("fit", value, FITS));
}

core::Result<void> apply_format(Value value, State& s) {
    if (value == "pjpg" || value == "baseline-jpeg") {
        s.out.jpeg_scan = value == "pjpg" ? JpegScan::Progressive : JpegScan::Baseline;
        s.out.format = RequestedFormat::Jpeg;
        return {};
    }
    if (std::find(UNSUPPORTED_FORMATS.begin(), UNSUPPORTED_FORMATS.end(), value) !=
        UNSUPPORTED_FORMATS.end()) {
        return unsupported("format=" + std::string(value), "no such output format here");
    }
    return assign(s.out.format, one_of("format", value, FORMATS));
}

/** imgix `crop` sides onto a compass gravity (`top,left` = northwest): at most one side of
 *  each axis. */
std::optional<GravityKind> crop_sides(const std::vector<std::string_view>& words) {
    std::string vertical;
    std::string horizontal;
    for (const auto word : words) {
        auto& side = (word == "top" || word == "bottom") ? vertical : horizontal;
        const std::string_view compass = word == "top"      ? "north"
                                         : word == "bottom" ? "south"
                                         : word == "left"   ? "west"
                                         : word == "right"  ? "east"
                                                            : "";
        if (compass.empty() || !side.empty()) {
            return std::nullopt;
        }
        side = compass;
    }
    return find_keyword(GRAVITIES, vertical + horizontal);
}

/** imgix `crop`: sides, `entropy`, or `focalpoint` (which is what fp-x/fp-y already mean
 *  here, centre without them); mapped onto gravity. */
core::Result<void> apply_crop(Value value, State& s) {
    const auto words = core::split(value, ',');
    for (const auto word : {"faces", "edges"}) {
        if (std::find(words.begin(), words.end(), word) != words.end()) {
            return unsupported("crop=" + std::string(word), "face and edge detection are not "
                                                            "available");
        }
    }
    if (value == "focalpoint" || value == "entropy") {
        s.out.gravity = value == "entropy" ? std::optional(Gravity{GravityKind::Entropy})
                                           : std::nullopt;
        return {};
    }
    const auto kind = crop_sides(words);
    if (!kind) {
        return invalid("crop", "top, bottom, left, right (one per axis, comma-separated), "
                               "entropy or focalpoint");
    }
    s.out.gravity = Gravity{*kind};
    return {};
}

/** imgix `sharp` 0..100 onto our `sharpen` 0..10: divided by 10. */
core::Result<void> apply_sharp(Value value, State& s) {
    CDN_TRY(amount, number_in("sharp", value, 0, 100));
    s.out.sharpen = amount / 10;
    return {};
}

/** `trim`: our threshold 1..100, or imgix's `color`/`auto` with the threshold in `trim-tol`. */
core::Result<void> apply_trim(Value value, State& s) {
    if (value == "color" || value == "auto") {
        s.trim_by_color = true;
        return {};
    }
    return assign(s.out.trim, integer_in("trim", value, 1, 100));
}

/** imgix `ch`: which hints to ask for with Accept-CH. Save-Data is accepted but not asked
 *  for, as nothing here would change with it. */
core::Result<void> apply_ch(Value value, State& s) {
    std::string accept_ch;
    for (const auto word : core::split(value, ',')) {
        const std::string_view header = word == "Width" ? "Sec-CH-Width"
                                        : word == "DPR" ? "Sec-CH-DPR"
                                                        : "";
        if (header.empty() && word != "Save-Data") {
            return invalid("ch", "a list of Width, DPR and Save-Data");
        }
        if (!header.empty()) {
            accept_ch += (accept_ch.empty() ? "" : ", ") + std::string(header);
        }
    }
    s.out.accept_ch = accept_ch;
    return {};
}

/** imgix `pad`: border width in output pixels; 0 is no border (and no option). */
core::Result<void> apply_pad(Value value, State& s) {
    CDN_TRY(width, integer_in("pad", value, 0, MAX_PADDING));
    s.out.padding = width > 0 ? std::optional(width) : std::nullopt;
    return {};
}

/** imgix client identification (`ixlib=js-3.8.0`) and analytics ids: accepted, ignored. */
constexpr auto IGNORED = std::to_array<std::string_view>({"ixlib", "ixid"});

/** One row per option, in delivery.md's order (which is also canonical_string's order). */
struct OptionSpec {
    std::string_view name;
    /** The imgix spelling; empty when the option has none. */
    std::string_view alias;
    core::Result<void> (*apply)(Value value, State& s);
    /** An imgix alias with values of its own (`sharp` 0..100): the option whose place it
     *  takes, so that giving both is refused like any alias. */
    std::string_view alias_of = {};
};

constexpr auto OPTIONS = std::to_array<OptionSpec>({
    {"width", "w",
     [](Value v, State& s) { return assign(s.out.width, dimension("width", v, s.max_dimension)); }},
    {"height", "h",
     [](Value v, State& s) {
         return assign(s.out.height, dimension("height", v, s.max_dimension));
     }},
    {"dpr", "", [](Value v, State& s) { return assign(s.out.dpr, number_in("dpr", v, 1, 4)); }},
    {"fit", "", apply_fit},
    {"gravity", "g", [](Value v, State& s) { return assign(s.out.gravity, parse_gravity(v)); }},
    {"fp-x", "", [](Value v, State& s) { return assign(s.fp_x, number_in("fp-x", v, 0, 1)); }},
    {"fp-y", "", [](Value v, State& s) { return assign(s.fp_y, number_in("fp-y", v, 0, 1)); }},
    {"quality", "q",
     [](Value v, State& s) { return assign(s.out.quality, integer_in("quality", v, 1, 100)); }},
    {"format", "fm", apply_format},
    {"auto", "", apply_auto},
    {"rect", "crop-rect", [](Value v, State& s) { return assign(s.out.rect, parse_rect(v)); }},
    {"rotate", "rot",
     [](Value v, State& s) { return assign(s.out.rotate, one_of("rotate", v, ROTATIONS)); }},
    {"flip", "", [](Value v, State& s) { return assign(s.out.flip, one_of("flip", v, FLIPS)); }},
    {"blur", "",
     [](Value v, State& s) { return assign(s.out.blur, number_in("blur", v, 0.3, 250)); }},
    {"sharpen", "",
     [](Value v, State& s) { return assign(s.out.sharpen, number_in("sharpen", v, 0, 10)); }},
    {"trim", "", apply_trim},
    {"trim-tol", "",
     [](Value v, State& s) {
         return assign(s.trim_tolerance, integer_in("trim-tol", v, 1, 100));
     }},
    {"background", "bg",
     [](Value v, State& s) { return assign(s.out.background, parse_color(v)); }},
    {"pad", "", apply_pad},
    {"metadata", "",
     [](Value v, State& s) { return assign(s.out.metadata, one_of("metadata", v, METADATA)); }},
    {"anim", "", [](Value v, State& s) { return assign(s.out.anim, one_of("anim", v, BOOLEANS)); }},
    {"lossless", "",
     [](Value v, State& s) { return assign(s.out.lossless, one_of("lossless", v, BOOLEANS)); }},
    {"preset", "", [](Value v, State& s) { return assign(s.out.preset, parse_preset(v)); }},
    {"s", "sig", [](Value v, State& s) { return assign(s.out.signature, parse_signature(v)); }},
    {"exp", "", [](Value v, State& s) { return assign(s.out.expires, parse_expiry(v)); }},
    {"v", "", [](Value v, State& s) { return assign(s.out.version, parse_version(v)); }},
    {"ch", "", apply_ch},
    {"crop", "", apply_crop, "gravity"},
    {"sharp", "", apply_sharp, "sharpen"},
    {"orient", "",
     [](Value v, State& s) { return assign(s.out.rotate, one_of("orient", v, ROTATIONS)); },
     "rotate"},
});

constexpr std::size_t OPTION_COUNT = OPTIONS.size();

std::optional<std::size_t> find_option(std::string_view name) {
    for (std::size_t i = 0; i < OPTION_COUNT; ++i) {
        if (OPTIONS[i].name == name || (!OPTIONS[i].alias.empty() && OPTIONS[i].alias == name)) {
            return i;
        }
    }
    return std::nullopt;
}

/** The row whose place an option takes: itself, or the option it is an imgix alias of. */
std::size_t slot_of(std::size_t index) {
    const auto& of = OPTIONS[index].alias_of;
    return of.empty() ? index : *find_option(of);
}

core::Error unknown_or_refused(const std::string& name) {
    if (const auto why = refused_reason(name)) {
        return unsupported("imgix parameter '" + name + "'", *why);
    }
    return core::make_error(Errc::UnknownParameter, "unknown parameter '" + name + "'");
}

core::Error given_twice(const OptionSpec& spec, std::string_view used) {
    std::string message(spec.name);
    const auto alias = used == spec.name ? spec.alias : used;
    message += alias.empty() ? "" : " (or its alias " + std::string(alias) + ")";
    return core::make_error(Errc::InvalidParameter, message + " may be given only once");
}

core::Result<void> resolve_trim(State& s) {
    if (s.trim_tolerance && !s.trim_by_color) {
        return core::make_error(Errc::InvalidParameter, "trim-tol needs trim=color or trim=auto");
    }
    if (s.trim_by_color) {
        // imgix's default tolerance is 0 (exact color); ours starts at 1, the nearest.
        s.out.trim = s.trim_tolerance.value_or(1);
    }
    return {};
}

core::Result<void> resolve_deferred(State& s) {
    CDN_TRY_VOID(resolve_trim(s));
    if (s.fp_x || s.fp_y) {
        if (s.out.gravity) {
            return core::make_error(Errc::InvalidParameter,
                                    "fp-x and fp-y cannot be combined with gravity");
        }
        s.out.gravity = Gravity{GravityKind::Focal, s.fp_x.value_or(0.5), s.fp_y.value_or(0.5)};
    }
    if (s.auto_format) {
        if (s.out.format) {
            return core::make_error(Errc::InvalidParameter,
                                    "auto=format cannot be combined with format");
        }
        s.out.format = RequestedFormat::Auto;
    }
    return {};
}

// One spelling per value, for canonical_string: the same as the request's canonical spelling.
std::string to_text(std::uint32_t n) { return std::to_string(n); }
std::string to_text(double n) { return format_number(n); }
std::string to_text(bool b) { return b ? "true" : "false"; }
// Free text (`v`) percent-encoded, so that the canonical string parses back to the same
// options ('&', '=', '+' and '%' included).
std::string to_text(const std::string& s) { return core::percent_encode(s); }
std::string to_text(Fit f) { return std::string(keyword_name(FITS, f)); }
std::string to_text(RequestedFormat f) { return std::string(keyword_name(FORMATS, f)); }
std::string to_text(Flip f) { return std::string(keyword_name(FLIPS, f)); }
std::string to_text(MetadataPolicy m) { return std::string(keyword_name(METADATA, m)); }

std::string to_text(const Gravity& g) {
    if (g.kind == GravityKind::Focal) {
        return format_number(g.x) + "x" + format_number(g.y);
    }
    return std::string(keyword_name(GRAVITIES, g.kind));
}

std::string to_text(const CropRect& r) {
    return std::to_string(r.x) + "," + std::to_string(r.y) + "," + std::to_string(r.width) + "," +
           std::to_string(r.height);
}

std::string to_text(const Rgba& c) {
    const auto byte = [](std::uint8_t b) { return std::string(1, static_cast<char>(b)); };
    return core::to_hex(byte(c.r) + byte(c.g) + byte(c.b) + byte(c.a));
}

template <class T>
std::optional<std::string> text_of(const std::optional<T>& value) {
    return value ? std::optional(to_text(*value)) : std::nullopt;
}

/** The format's spelling; a forced JPEG scan has its own (`pjpg`, `baseline-jpeg`). */
std::optional<std::string> format_text(const DeliveryOptions& o) {
    switch (o.jpeg_scan) {
    case JpegScan::Progressive: return "pjpg";
    case JpegScan::Baseline: return "baseline-jpeg";
    case JpegScan::BySize: break;
    }
    return text_of(o.format);
}

} // namespace

bool is_ignored_parameter(std::string_view name) {
    return std::find(IGNORED.begin(), IGNORED.end(), name) != IGNORED.end();
}

bool DeliveryOptions::wants_transform() const {
    return width || height || dpr || fit || gravity || quality || format || compress || rect ||
           rotate || flip || blur || sharpen || trim || background || padding || metadata ||
           anim || lossless || preset;
}

void DeliveryOptions::overlay_on(const DeliveryOptions& base) {
    const auto fill = [](auto& mine, const auto& theirs) {
        if (!mine) {
            mine = theirs;
        }
    };
    fill(width, base.width);
    fill(height, base.height);
    fill(dpr, base.dpr);
    fill(fit, base.fit);
    fill(gravity, base.gravity);
    fill(quality, base.quality);
    if (!format) {
        format = base.format;
        jpeg_scan = base.jpeg_scan;
    }
    compress = compress || base.compress;
    fill(rect, base.rect);
    fill(rotate, base.rotate);
    fill(flip, base.flip);
    fill(blur, base.blur);
    fill(sharpen, base.sharpen);
    fill(trim, base.trim);
    fill(background, base.background);
    fill(padding, base.padding);
    fill(metadata, base.metadata);
    fill(anim, base.anim);
    fill(lossless, base.lossless);
    fill(preset, base.preset);
    fill(version, base.version);
    fill(signature, base.signature);
    fill(expires, base.expires);
    fill(accept_ch, base.accept_ch);
}

core::Result<DeliveryOptions>
parse_delivery_options(const std::vector<std::pair<std::string, std::string>>& params,
                       std::uint32_t max_dimension) {
    State state;
    state.max_dimension = max_dimension;
    std::array<bool, OPTION_COUNT> seen{};
    for (const auto& [name, value] : params) {
        if (is_ignored_parameter(name)) {
            continue; // any value, any number of times: never part of the options
        }
        const auto index = find_option(name);
        if (!index) {
            return unknown_or_refused(name);
        }
        const auto slot = slot_of(*index);
        if (seen[slot]) {
            return given_twice(OPTIONS[slot], name);
        }
        seen[slot] = true;
        CDN_TRY_VOID(OPTIONS[*index].apply(value, state));
    }
    CDN_TRY_VOID(resolve_deferred(state));
    return std::move(state.out);
}

core::Result<DeliveryOptions> parse_preset_options(std::string_view query,
                                                   std::uint32_t max_dimension) {
    const auto params = core::parse_query_string(query);
    if (!params) {
        return core::make_error(core::Errc::InvalidParameter, "malformed options string");
    }
    CDN_TRY(options, parse_delivery_options(*params, max_dimension));
    if (options.preset || options.version || options.signature || options.expires) {
        return core::make_error(core::Errc::InvalidParameter,
                                "a preset cannot contain preset, v, s or exp");
    }
    if (!options.wants_transform()) {
        return core::make_error(core::Errc::InvalidParameter, "a preset needs at least one option");
    }
    return options;
}

std::string canonical_string(const DeliveryOptions& o) {
    // Fixed order; `v` goes last because it is the only free-form value (percent-encoded by
    // to_text): every earlier value is from a closed alphabet without '&'.
    using Field = std::pair<std::string_view, std::optional<std::string>>;
    const auto fields = std::to_array<Field>({
        {"width", text_of(o.width)},
        {"height", text_of(o.height)},
        {"dpr", text_of(o.dpr)},
        {"fit", text_of(o.fit)},
        {"gravity", text_of(o.gravity)},
        {"quality", text_of(o.quality)},
        {"format", format_text(o)},
        {"auto", o.compress ? std::optional<std::string>("compress") : std::nullopt},
        {"rect", text_of(o.rect)},
        {"rotate", text_of(o.rotate)},
        {"flip", text_of(o.flip)},
        {"blur", text_of(o.blur)},
        {"sharpen", text_of(o.sharpen)},
        {"trim", text_of(o.trim)},
        {"background", text_of(o.background)},
        {"pad", text_of(o.padding)},
        {"metadata", text_of(o.metadata)},
        {"anim", text_of(o.anim)},
        {"lossless", text_of(o.lossless)},
        {"preset", text_of(o.preset)},
        {"v", text_of(o.version)},
    });
    std::string out;
    for (const auto& [name, value] : fields) {
        if (value) {
            out += out.empty() ? "" : "&";
            out += std::string(name) + "=" + *value;
        }
    }
    return out;
}

} // namespace cdn::transform
