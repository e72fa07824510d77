#include "transform/engine.h"

#include <fmt/format.h>
#include <vips/vips8>

#include <algorithm>
#include <functional>
#include <optional>
#include <semaphore>
#include <thread>
#include <cmath>
#include <vector>

#include "transform/deadline.h"
#include "transform/foreign_decoders.h"
#include "transform/vips_runtime.h"

namespace cdn::transform {
namespace {

using vips::VImage;
using Clock = std::chrono::steady_clock;

constexpr std::size_t PROGRESSIVE_JPEG_BYTES = 10 * 1024;
// Above this many output pixels a JPEG is all but certain to exceed 10 KB: encode it
// progressive at once instead of trying baseline first.
constexpr std::uint64_t SURELY_LARGE_JPEG_PIXELS = 400 * 400;

core::Error vips_error(core::Errc code, std::string message) {
    std::string detail = vips_error_buffer();
    vips_error_clear();
    return core::make_error(code, std::move(message), std::move(detail));
}

/** A libvips failure of a watched job: the deadline's kill, or the input's fault. */
core::Error failure(const DeadlineGuard& guard, std::string message) {
    return guard.fired() ? timeout_error()
                         : vips_error(core::Errc::UnprocessableImage, std::move(message));
}

core::Error too_large(std::string message) {
    return core::make_error(core::Errc::SourceTooLarge, std::move(message));
}

double elapsed_ms(Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

/** The libvips options every load gets: broken data fails instead of decoding grey. */
vips::VOption* load_options(VipsAccess access) {
    return VImage::option()->set("access", access)->set("fail_on", VIPS_FAIL_ON_TRUNCATED);
}

VImage open_header(std::string_view bytes) {
    return VImage::new_from_buffer(bytes.data(), bytes.size(), "",
                                   load_options(VIPS_ACCESS_SEQUENTIAL));
}

std::uint32_t frame_count(const VImage& image) {
    return image.get_typeof("n-pages") != 0 ? static_cast<std::uint32_t>(image.get_int("n-pages")) : 1;
}

bool is_interlaced(const VImage& image) {
    return image.get_typeof("interlaced") != 0 && image.get_int("interlaced") != 0;
}

bool decoded_outside_vips(ImageFormat format) {
    return format == ImageFormat::Heic || format == ImageFormat::Jxl;
}

core::Result<void> check_limits(const SourceInfo& info, const Limits& limits) {
    // A header can name no pixels (a HEIC grid without a size): nothing to transform, and
    // every later step divides by the source's size.
    if (info.width == 0 || info.height == 0) {
        return core::make_error(core::Errc::UnprocessableImage, "the original has no pixels");
    }
    const std::uint64_t pixels = std::uint64_t{info.width} * info.height;
    if (pixels > limits.max_original_pixels) {
        return too_large("the original has more pixels than allowed");
    }
    if (info.frames > limits.max_frames || info.frames * pixels > limits.max_original_pixels * 2) {
        return too_large("the original has more animation frames than allowed");
    }
    if (info.interlaced && pixels > limits.progressive_max_pixels) {
        return too_large("progressive or interlaced originals this large are not accepted");
    }
    return {};
}

// ---- the steps -----------------------------------------------------------------------------

struct Context {
    const TransformSpec& spec;
    const SourceInfo& source;
    DeadlineGuard& guard;
    VImage image;
    bool animated = false;
    /** Output height of one frame (the image is a vertical strip of frames when animated). */
    int frame_height = 0;
};

/** How much smaller than the original the output will be (≥ 1), for shrink-on-load. */
double needed_shrink(const TransformSpec& spec, const SourceInfo& src) {
    // The box applies after orientation and rotation (pipeline order): each quarter turn swaps.
    const bool swap_axes = (src.orientation >= 5) != (spec.rotate == 90 || spec.rotate == 270);
    if (spec.rect || spec.trim || (!spec.width && !spec.height)) {
        return 1.0;
    }
    const double w = swap_axes ? src.height : src.width;
    const double h = swap_axes ? src.width : src.height;
    const double sx = spec.width ? w / *spec.width : 0;
    const double sy = spec.height ? h / *spec.height : 0;
    const bool fills_box = spec.fit == Fit::Cover || spec.fit == Fit::Crop;
    double shrink = 0;
    if (sx > 0 && sy > 0) {
        shrink = fills_box || spec.fit == Fit::Squeeze ? std::min(sx, sy) : std::max(sx, sy);
    } else {
        shrink = std::max(sx, sy);
    }
    return std::max(1.0, shrink);
}

/** What the loader is asked for, apart from the access pattern. */
struct LoadPlan {
    /** JPEG shrink-on-load by 2, 4 or 8; 1: none. */
    int jpeg_shrink = 1;
    /** WebP scale-on-load; 1: none. */
    double scale = 1.0;
    bool all_frames = false;

    /** The options as text: the decoded cache's key within one original. */
    std::string key() const {
        return fmt::format("shrink={};scale={};frames={}", jpeg_shrink, scale, all_frames);
    }
};

LoadPlan plan_load(const Context& ctx) {
    const auto& src = ctx.source;
    LoadPlan plan;
    const double shrink = needed_shrink(ctx.spec, src);
    if (ctx.animated) {
        plan.all_frames = true;
    } else if (src.format == ImageFormat::Jpeg && !src.interlaced) {
        for (int f : {8, 4, 2}) {
            if (shrink >= f) {
                plan.jpeg_shrink = f;
                break;
            }
        }
    } else if (src.format == ImageFormat::Webp && shrink > 1.0) {
        plan.scale = 1.0 / shrink;
    }
    return plan;
}

VImage open_source(std::string_view bytes, const LoadPlan& plan, VipsAccess access) {
    auto* options = load_options(access);
    if (plan.all_frames) {
        options->set("n", -1);
    }
    if (plan.jpeg_shrink > 1) {
        options->set("shrink", plan.jpeg_shrink);
    }
    if (plan.scale != 1.0) {
        options->set("scale", plan.scale);
    }
    return VImage::new_from_buffer(bytes.data(), bytes.size(), "", options);
}

/** The pipeline's source image: `image`, watched by the job's deadline. */
void set_source(Context& ctx, VImage image) {
    ctx.image = std::move(image);
    // Before any pixel is read: the loader's own decode signals on this image too.
    ctx.guard.watch(ctx.image.get_image());
    ctx.frame_height = ctx.animated ? ctx.image.get_int("page-height") : ctx.image.height();
}

/**
 * The decoded original from the cache under `options`, or decoded by `to_memory` (which
 * returns an image in memory) and kept there: variants of one original decode it once.
 */
core::Result<void> load_through_cache(Context& ctx, const DecodeReuse& reuse,
                                      const std::string& options,
                                      const std::function<core::Result<VImage>()>& to_memory) {
    auto decode = [&]() -> core::Result<DecodedImage> {
        CDN_TRY(pixels, to_memory());
        VipsImage* image = pixels.get_image();
        g_object_ref(image);
        return adopt_decoded(image, VIPS_IMAGE_SIZEOF_IMAGE(image));
    };
    CDN_TRY(decoded, reuse.cache->get_or_decode(reuse.original + '\n' + options, reuse.customer,
                                                ctx.guard.deadline(), decode));
    // A copy of the header, sharing the pixels: the steps set and remove metadata on their
    // image, which other pipelines reading the cached one must not see.
    set_source(ctx, VImage(decoded.image.get(), vips::NOSTEAL).copy());
    return {};
}

/** libvips' decode of `lazy` into memory, within the job's deadline. */
core::Result<VImage> decode_to_memory(Context& ctx, VImage lazy) {
    ctx.guard.watch(lazy.get_image());
    try {
        return lazy.copy_memory();
    } catch (const vips::VError&) {
        return failure(ctx.guard, "the original could not be decoded");
    }
}

/** HEIC and JPEG XL: decoded by libheif / libjxl into memory, then handed to libvips. */
core::Result<VImage> decode_outside_vips(const Context& ctx, std::string_view bytes) {
    const auto deadline = ctx.guard.deadline();
    CDN_TRY(decoded, ctx.source.format == ImageFormat::Heic ? decode_heic(bytes, deadline)
                                                            : decode_jxl(bytes, deadline));
    return VImage::new_from_memory_copy(decoded.pixels.data(), decoded.pixels.size(),
                                        static_cast<int>(decoded.width),
                                        static_cast<int>(decoded.height), decoded.bands,
                                        VIPS_FORMAT_UCHAR)
        .copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
}

core::Result<void> load_decoded_outside_vips(Context& ctx, std::string_view bytes,
                                             const DecodeReuse& reuse) {
    const auto& src = ctx.source;
    const std::uint64_t size = std::uint64_t{src.width} * src.height * (src.has_alpha ? 4 : 3);
    if (reuse.cache != nullptr && reuse.cache->admits(size)) {
        return load_through_cache(ctx, reuse, "decoded",
                                  [&] { return decode_outside_vips(ctx, bytes); });
    }
    CDN_TRY(image, decode_outside_vips(ctx, bytes));
    set_source(ctx, std::move(image));
    return {};
}

/**
 * Step: load, shrinking on load where the format allows (JPEG by 2/4/8, WebP by any scale).
 * With a decoded cache that admits the decode's size, through it (decoded whole, in memory);
 * else lazily, as the later steps pull the pixels.
 */
core::Result<void> load(Context& ctx, std::string_view bytes, const DecodeReuse& reuse) {
    const auto& src = ctx.source;
    if (decoded_outside_vips(src.format)) {
        return load_decoded_outside_vips(ctx, bytes, reuse);
    }
    ctx.animated = src.frames > 1 && ctx.spec.anim;
    const auto plan = plan_load(ctx);
    if (reuse.cache != nullptr) {
        auto lazy = open_source(bytes, plan, VIPS_ACCESS_SEQUENTIAL);
        if (reuse.cache->admits(VIPS_IMAGE_SIZEOF_IMAGE(lazy.get_image()))) {
            return load_through_cache(ctx, reuse, plan.key(),
                                      [&] { return decode_to_memory(ctx, std::move(lazy)); });
        }
    }
    // Rotating or turning upside down reads rows out of order: sequential access cannot do it.
    const bool reorders_rows = src.orientation > 1 || ctx.spec.rotate != 0 ||
                               ctx.spec.flip == Flip::Vertical || ctx.spec.flip == Flip::Both;
    set_source(ctx, open_source(bytes, plan,
                                ctx.animated || reorders_rows ? VIPS_ACCESS_RANDOM
                                                              : VIPS_ACCESS_SEQUENTIAL));
    return {};
}

/** Step: EXIF orientation is always applied (still images only: frames carry none). */
void auto_orient(Context& ctx) {
    if (!ctx.animated) {
        ctx.image = ctx.image.autorot();
        ctx.frame_height = ctx.image.height();
    }
}

/** Step: colour to sRGB, 8 bits per band; an embedded profile is applied, then dropped. */
void to_srgb(Context& ctx) {
    auto& image = ctx.image;
    if (image.get_typeof("icc-profile-data") != 0) {
        image = image.icc_transform("srgb", VImage::option()
                                                ->set("embedded", true)
                                                ->set("intent", VIPS_INTENT_PERCEPTUAL));
        image.remove("icc-profile-data");
    } else if (image.interpretation() != VIPS_INTERPRETATION_sRGB &&
               image.interpretation() != VIPS_INTERPRETATION_B_W) {
        image = image.colourspace(VIPS_INTERPRETATION_sRGB);
    }
    if (image.format() != VIPS_FORMAT_UCHAR) {
        image = image.colourspace(VIPS_INTERPRETATION_sRGB).cast(VIPS_FORMAT_UCHAR);
    }
}

/** Step: `rect`, in the auto-oriented original's pixels. */
core::Result<void> crop_rect(Context& ctx) {
    if (!ctx.spec.rect || ctx.animated) {
        return {};
    }
    const auto& r = *ctx.spec.rect;
    if (std::uint64_t{r.x} + r.width > static_cast<std::uint64_t>(ctx.image.width()) ||
        std::uint64_t{r.y} + r.height > static_cast<std::uint64_t>(ctx.image.height())) {
        return core::make_error(core::Errc::InvalidParameter,
                                "rect must lie inside the image (" +
                                    std::to_string(ctx.image.width()) + "x" +
                                    std::to_string(ctx.image.height()) + ")");
    }
    ctx.image = ctx.image.extract_area(static_cast<int>(r.x), static_cast<int>(r.y),
                                       static_cast<int>(r.width), static_cast<int>(r.height));
    ctx.frame_height = ctx.image.height();
    return {};
}

/** Step: `trim` uniform borders (the colour of the top-left pixel) before resizing. */
void trim_borders(Context& ctx) {
    if (!ctx.spec.trim || ctx.animated) {
        return;
    }
    // find_trim reads the whole image, then we crop it: both need random access.
    ctx.image = ctx.image.copy_memory();
    ctx.guard.watch(ctx.image.get_image());
    auto flat = ctx.image.has_alpha() ? ctx.image.flatten() : ctx.image;
    const auto corner = flat.getpoint(0, 0);
    int top = 0;
    int width = 0;
    int height = 0;
    const int left = flat.find_trim(&top, &width, &height,
                                    VImage::option()
                                        ->set("threshold", static_cast<double>(*ctx.spec.trim))
                                        ->set("background", corner));
    if (width > 0 && height > 0) {
        ctx.image = ctx.image.extract_area(left, top, width, height);
        ctx.frame_height = ctx.image.height();
    }
}

/** Step: `rotate` (clockwise) and `flip`, after auto-orientation and before resizing, so that
 *  width and height always mean the output's. */
void rotate_and_flip(Context& ctx) {
    if (ctx.animated) {
        return;
    }
    switch (ctx.spec.rotate) {
    case 90: ctx.image = ctx.image.rot(VIPS_ANGLE_D90); break;
    case 180: ctx.image = ctx.image.rot(VIPS_ANGLE_D180); break;
    case 270: ctx.image = ctx.image.rot(VIPS_ANGLE_D270); break;
    default: break;
    }
    if (ctx.spec.flip == Flip::Horizontal || ctx.spec.flip == Flip::Both) {
        ctx.image = ctx.image.flip(VIPS_DIRECTION_HORIZONTAL);
    }
    if (ctx.spec.flip == Flip::Vertical || ctx.spec.flip == Flip::Both) {
        ctx.image = ctx.image.flip(VIPS_DIRECTION_VERTICAL);
    }
    ctx.frame_height = ctx.image.height();
}

/** The scale factors and final box of a fit, from the current size. */
struct Geometry {
    double hscale = 1;
    double vscale = 1;
    /** The box to crop (cover, crop) or pad (pad) to after scaling; 0 = none. */
    int box_width = 0;
    int box_height = 0;
};

Geometry plan_fit(const TransformSpec& spec, double w0, double h0) {
    Geometry g;
    if (!spec.width && !spec.height) {
        return g;
    }
    const double sx = spec.width ? *spec.width / w0 : 0;
    const double sy = spec.height ? *spec.height / h0 : 0;
    const bool both = sx > 0 && sy > 0;
    const double one_axis = std::max(sx, sy); // only one of them is set
    switch (spec.fit) {
    case Fit::ScaleDown:
        g.hscale = g.vscale = std::min(1.0, both ? std::min(sx, sy) : one_axis);
        break;
    case Fit::Contain:
        g.hscale = g.vscale = both ? std::min(sx, sy) : one_axis;
        break;
    case Fit::Squeeze:
        g.hscale = both ? sx : one_axis;
        g.vscale = both ? sy : one_axis;
        break;
    case Fit::Cover:
        g.hscale = g.vscale = both ? std::max(sx, sy) : one_axis;
        g.box_width = spec.width ? static_cast<int>(*spec.width) : 0;
        g.box_height = spec.height ? static_cast<int>(*spec.height) : 0;
        break;
    case Fit::Crop:
        g.hscale = g.vscale = std::min(1.0, both ? std::max(sx, sy) : one_axis);
        g.box_width = spec.width ? static_cast<int>(*spec.width) : 0;
        g.box_height = spec.height ? static_cast<int>(*spec.height) : 0;
        break;
    case Fit::Pad:
        g.hscale = g.vscale = both ? std::min(sx, sy) : one_axis;
        g.box_width = spec.width ? static_cast<int>(*spec.width) : 0;
        g.box_height = spec.height ? static_cast<int>(*spec.height) : 0;
        break;
    }
    return g;
}

/** Offsets of a `inner` window in `outer` along one axis for a position in 0..1. */
int offset_for(int outer, int inner, double position) {
    const int room = outer - inner;
    return std::clamp(static_cast<int>(std::lround(room * position)), 0, std::max(0, room));
}

std::pair<double, double> gravity_position(const Gravity& g) {
    switch (g.kind) {
    case GravityKind::North: return {0.5, 0.0};
    case GravityKind::South: return {0.5, 1.0};
    case GravityKind::East: return {1.0, 0.5};
    case GravityKind::West: return {0.0, 0.5};
    case GravityKind::NorthEast: return {1.0, 0.0};
    case GravityKind::NorthWest: return {0.0, 0.0};
    case GravityKind::SouthEast: return {1.0, 1.0};
    case GravityKind::SouthWest: return {0.0, 1.0};
    default: return {0.5, 0.5};
    }
}

/** Crops one frame to the box by gravity: named positions, a focal point, or smart crop. */
VImage crop_to_box(VImage frame, int box_w, int box_h, const Gravity& gravity,
                   DeadlineGuard& guard) {
    box_w = std::min(box_w, frame.width());
    box_h = std::min(box_h, frame.height());
    if (box_w == frame.width() && box_h == frame.height()) {
        return frame;
    }
    if (gravity.kind == GravityKind::Auto || gravity.kind == GravityKind::Entropy) {
        // smartcrop analyses the image more than once: it needs the pixels in memory.
        auto pixels = frame.copy_memory();
        guard.watch(pixels.get_image());
        return pixels.smartcrop(
            box_w, box_h,
            VImage::option()->set("interesting", gravity.kind == GravityKind::Auto
                                                     ? VIPS_INTERESTING_ATTENTION
                                                     : VIPS_INTERESTING_ENTROPY));
    }
    int left = 0;
    int top = 0;
    if (gravity.kind == GravityKind::Focal) {
        left = std::clamp(static_cast<int>(std::lround(gravity.x * frame.width() - box_w / 2.0)), 0,
                          frame.width() - box_w);
        top = std::clamp(static_cast<int>(std::lround(gravity.y * frame.height() - box_h / 2.0)),
                         0, frame.height() - box_h);
    } else {
        const auto [px, py] = gravity_position(gravity);
        left = offset_for(frame.width(), box_w, px);
        top = offset_for(frame.height(), box_h, py);
    }
    return frame.extract_area(left, top, box_w, box_h);
}

std::vector<double> background_bands(const Rgba& c, int bands) {
    std::vector<double> v{static_cast<double>(c.r), static_cast<double>(c.g), static_cast<double>(c.b)};
    if (bands == 1 || bands == 2) {
        v = {0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b};
    }
    if (bands == 2 || bands == 4) {
        v.push_back(static_cast<double>(c.a));
    }
    return v;
}

/** `frame` at x, y in a box_w × box_h canvas of the spec's background. */
VImage embed_on_background(VImage frame, int x, int y, int box_w, int box_h,
                           const TransformSpec& spec) {
    if (spec.background.a < 255 && !frame.has_alpha()) {
        frame = frame.bandjoin_const({255.0});
    }
    return frame.embed(x, y, box_w, box_h,
                       VImage::option()
                           ->set("extend", VIPS_EXTEND_BACKGROUND)
                           ->set("background", background_bands(spec.background, frame.bands())));
}

VImage pad_to_box(VImage frame, int box_w, int box_h, const TransformSpec& spec) {
    box_w = std::max(box_w, frame.width());
    box_h = std::max(box_h, frame.height());
    const auto [px, py] = gravity_position(spec.gravity);
    return embed_on_background(frame, offset_for(box_w, frame.width(), px),
                               offset_for(box_h, frame.height(), py), box_w, box_h, spec);
}

/** The box the image is fitted into: imgix's `pad` border is inside the requested size. */
TransformSpec inner_box(const TransformSpec& spec) {
    TransformSpec inner = spec;
    const auto border = 2 * spec.padding;
    for (auto* side : {&inner.width, &inner.height}) {
        if (*side) {
            **side = **side > border ? **side - border : 1;
        }
    }
    return inner;
}

/** Applies `fn` to every frame of an animated strip and joins them again. */
template <class Fn>
void for_each_frame(Context& ctx, Fn fn) {
    if (!ctx.animated) {
        ctx.image = fn(ctx.image);
        ctx.frame_height = ctx.image.height();
        return;
    }
    const int frames = ctx.image.height() / ctx.frame_height;
    std::vector<VImage> out;
    out.reserve(static_cast<std::size_t>(frames));
    for (int i = 0; i < frames; ++i) {
        out.push_back(fn(ctx.image.extract_area(0, i * ctx.frame_height, ctx.image.width(),
                                                ctx.frame_height)));
    }
    ctx.frame_height = out.front().height();
    ctx.image = VImage::arrayjoin(out, VImage::option()->set("across", 1));
    ctx.image.set("page-height", ctx.frame_height);
}

/** Step: resize by `fit` and `gravity` to the spec's box. */
void resize_to_fit(Context& ctx) {
    const auto g = plan_fit(inner_box(ctx.spec), ctx.image.width(), ctx.frame_height);
    const auto& spec = ctx.spec;
    for_each_frame(ctx, [&](VImage frame) {
        if (g.hscale != 1.0 || g.vscale != 1.0) {
            // Round the target size, then derive the exact scale, so that 1200 px at 1/3 is
            // exactly 400 px and never 399.
            const double tw = std::max(1.0, std::round(frame.width() * g.hscale));
            const double th = std::max(1.0, std::round(frame.height() * g.vscale));
            frame = frame.resize(tw / frame.width(),
                                 VImage::option()->set("vscale", th / frame.height()));
        }
        if (g.box_width > 0 || g.box_height > 0) {
            const int bw = g.box_width > 0 ? g.box_width : frame.width();
            const int bh = g.box_height > 0 ? g.box_height : frame.height();
            frame = spec.fit == Fit::Pad ? pad_to_box(frame, bw, bh, spec)
                                         : crop_to_box(frame, bw, bh, spec.gravity, ctx.guard);
        }
        return frame;
    });
}

/** The sizes resize_to_fit goes through for one frame of width × height. */
struct FitSizes {
    /** After scaling, before the crop or pad to the box. */
    OutputSize scaled;
    OutputSize output;
};

FitSizes fitted_inside(const TransformSpec& spec, double width, double height) {
    const auto g = plan_fit(spec, width, height);
    double w = width;
    double h = height;
    if (g.hscale != 1.0 || g.vscale != 1.0) {
        w = std::max(1.0, std::round(width * g.hscale));
        h = std::max(1.0, std::round(height * g.vscale));
    }
    // Far from overflowing: 100 MP originals times 8192 stay below 2^50.
    FitSizes sizes{{static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h)}, {}};
    if (g.box_width > 0 || g.box_height > 0) {
        const double bw = g.box_width > 0 ? g.box_width : w;
        const double bh = g.box_height > 0 ? g.box_height : h;
        w = spec.fit == Fit::Pad ? std::max(bw, w) : std::min(bw, w);
        h = spec.fit == Fit::Pad ? std::max(bh, h) : std::min(bh, h);
    }
    sizes.output = {static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h)};
    return sizes;
}

/** The sizes of the fit, the `pad` border included in the output. */
FitSizes fitted(const TransformSpec& spec, double width, double height) {
    auto sizes = fitted_inside(inner_box(spec), width, height);
    sizes.output.width += 2ULL * spec.padding;
    sizes.output.height += 2ULL * spec.padding;
    return sizes;
}

/** libvips' largest image side (VIPS_MAX_COORD). */
constexpr std::uint64_t LIBVIPS_MAX_SIDE = 10'000'000;

/**
 * 400 dimension_too_large for an output over the limits, or a scaled image before the crop
 * to the box over the original pixel limit (smart crop holds it in memory; libvips refuses
 * sides over 10 million).
 */
core::Result<void> check_fit(const FitSizes& sizes, const Limits& limits) {
    const auto& out = sizes.output;
    if (out.width > limits.max_output_dimension || out.height > limits.max_output_dimension ||
        out.width * out.height > limits.max_output_pixels) {
        return core::make_error(
            core::Errc::DimensionTooLarge,
            fmt::format("the output would be {}x{}: at most {} pixels a side and {} in all",
                        out.width, out.height, limits.max_output_dimension,
                        limits.max_output_pixels));
    }
    const auto& scaled = sizes.scaled;
    if (scaled.width > LIBVIPS_MAX_SIDE || scaled.height > LIBVIPS_MAX_SIDE ||
        scaled.width * scaled.height > limits.max_original_pixels) {
        return core::make_error(
            core::Errc::DimensionTooLarge,
            fmt::format("the image would be scaled to {}x{} before cropping: at most {} pixels",
                        scaled.width, scaled.height, limits.max_original_pixels));
    }
    return {};
}

/** Step (with `trim` only, where the size before the fit is known only now): the fit of the
 *  trimmed, turned image must stay within the output limits too. */
core::Result<void> check_trimmed_output(const Context& ctx, const Limits& limits) {
    if (!ctx.spec.trim || ctx.animated) {
        return {};
    }
    return check_fit(fitted(ctx.spec, ctx.image.width(), ctx.frame_height), limits);
}

/** Step: `blur` and `sharpen`. */
void filters(Context& ctx) {
    if (ctx.spec.blur) {
        ctx.image = ctx.image.gaussblur(*ctx.spec.blur);
    }
    if (ctx.spec.sharpen && *ctx.spec.sharpen > 0) {
        // sharpen's m2 is the slope for edges: the "amount" of an unsharp mask.
        ctx.image = ctx.image.sharpen(VImage::option()->set("sigma", 1.0)->set("m2", *ctx.spec.sharpen));
    }
}

/** Step: imgix's `pad`, a border of the background color around the fitted image. */
void add_padding(Context& ctx) {
    const auto p = static_cast<int>(ctx.spec.padding);
    if (p == 0) {
        return;
    }
    for_each_frame(ctx, [&](VImage frame) {
        return embed_on_background(frame, p, p, frame.width() + 2 * p, frame.height() + 2 * p,
                                   ctx.spec);
    });
}

ImageFormat output_format(const TransformSpec& spec, const SourceInfo& src, bool has_alpha,
                          bool animated) {
    auto by_alpha = has_alpha ? ImageFormat::Png : ImageFormat::Jpeg;
    switch (spec.format) {
    case FormatChoice::Jpeg: return ImageFormat::Jpeg;
    case FormatChoice::Png: return ImageFormat::Png;
    case FormatChoice::Webp: return ImageFormat::Webp;
    // Our AVIF encoder writes still images: an animation stays animated as WebP (every
    // client that takes AVIF takes WebP).
    case FormatChoice::Avif: return animated ? ImageFormat::Webp : ImageFormat::Avif;
    case FormatChoice::Gif: return ImageFormat::Gif;
    case FormatChoice::JpegOrPngByAlpha: return animated ? ImageFormat::Gif : by_alpha;
    case FormatChoice::SameAsSource: break;
    }
    switch (src.format) {
    case ImageFormat::Jpeg:
    case ImageFormat::Png:
    case ImageFormat::Webp:
    case ImageFormat::Avif:
    case ImageFormat::Gif: return src.format;
    case ImageFormat::Svg: return ImageFormat::Png;
    default: return by_alpha;
    }
}

bool can_animate(ImageFormat f) { return f == ImageFormat::Webp || f == ImageFormat::Gif; }

/** Step: keep only the first frame when the output cannot animate. */
void first_frame_only(Context& ctx) {
    if (ctx.animated) {
        ctx.image = ctx.image.extract_area(0, 0, ctx.image.width(), ctx.frame_height);
        ctx.image.remove("page-height");
        ctx.animated = false;
    }
}

/** Step: flatten transparency onto `background` for a format without alpha. */
void flatten_if_needed(Context& ctx, ImageFormat format) {
    if (format == ImageFormat::Jpeg && ctx.image.has_alpha()) {
        const auto& c = ctx.spec.background;
        ctx.image = ctx.image.flatten(VImage::option()->set(
            "background", std::vector<double>{static_cast<double>(c.r), static_cast<double>(c.g),
                                              static_cast<double>(c.b)}));
    }
}

/** Step: the metadata policy; returns the savers' `keep` flags. */
int apply_metadata_policy(Context& ctx) {
    switch (ctx.spec.metadata) {
    case MetadataPolicy::Keep: return VIPS_FOREIGN_KEEP_EXIF | VIPS_FOREIGN_KEEP_XMP | VIPS_FOREIGN_KEEP_IPTC;
    case MetadataPolicy::None: return VIPS_FOREIGN_KEEP_NONE;
    case MetadataPolicy::Copyright: break;
    }
    // A fresh EXIF block with only the copyright and artist: libvips rebuilds EXIF from the
    // exif-ifd* fields when there is no exif-data blob.
    std::vector<std::pair<std::string, std::string>> kept;
    for (const char* field : {"exif-ifd0-Copyright", "exif-ifd0-Artist"}) {
        if (ctx.image.get_typeof(field) != 0) {
            kept.emplace_back(field, ctx.image.get_string(field));
        }
    }
    char** fields = vips_image_get_fields(ctx.image.get_image());
    for (char** f = fields; *f != nullptr; ++f) {
        const std::string name = *f;
        if (name.starts_with("exif-") || name == "xmp-data" || name == "iptc-data") {
            ctx.image.remove(name.c_str());
        }
    }
    g_strfreev(fields);
    for (const auto& [name, value] : kept) {
        // The stored string is "value (type, n components)": keep the value part only.
        ctx.image.set(name.c_str(), value.substr(0, value.find(" (")).c_str());
    }
    return kept.empty() ? VIPS_FOREIGN_KEEP_NONE : VIPS_FOREIGN_KEEP_EXIF;
}

std::string take_blob(VipsBlob* blob) {
    std::string out(static_cast<const char*>(blob->area.data), blob->area.length);
    vips_area_unref(VIPS_AREA(blob));
    return out;
}

std::string encode_jpeg(VImage& image, int quality, int keep, JpegScan scan,
                        DeadlineGuard& guard) {
    auto options = [&](bool progressive) {
        return VImage::option()
            ->set("Q", quality)
            ->set("optimize_coding", true)
            ->set("interlace", progressive)
            ->set("keep", keep);
    };
    const auto pixels = static_cast<std::uint64_t>(image.width()) * image.height();
    if (scan != JpegScan::BySize) {
        return take_blob(image.jpegsave_buffer(options(scan == JpegScan::Progressive)));
    }
    if (pixels >= SURELY_LARGE_JPEG_PIXELS) {
        return take_blob(image.jpegsave_buffer(options(true)));
    }
    // Small output: baseline unless it turns out above 10 KB; the pixels are in memory so a
    // second encode does not decode the original again.
    image = image.copy_memory();
    guard.watch(image.get_image());
    auto baseline = take_blob(image.jpegsave_buffer(options(false)));
    return baseline.size() > PROGRESSIVE_JPEG_BYTES ? take_blob(image.jpegsave_buffer(options(true)))
                                                    : baseline;
}

std::string encode(VImage& image, ImageFormat format, const TransformSpec& spec, int keep,
                   DeadlineGuard& guard) {
    const int quality = static_cast<int>(effective_quality(spec, format));
    switch (format) {
    case ImageFormat::Jpeg: return encode_jpeg(image, quality, keep, spec.jpeg_scan, guard);
    case ImageFormat::Png:
        return take_blob(image.pngsave_buffer(VImage::option()->set("compression", 6)->set("keep", keep)));
    case ImageFormat::Webp:
        return take_blob(image.webpsave_buffer(VImage::option()
                                                   ->set("Q", quality)
                                                   ->set("lossless", spec.lossless)
                                                   ->set("effort", 4)
                                                   ->set("keep", keep)));
    case ImageFormat::Avif:
        return take_blob(image.heifsave_buffer(
            VImage::option()
                ->set("Q", quality)
                ->set("lossless", spec.lossless)
                ->set("compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1)
                ->set("effort", 4)
                ->set("subsample_mode", VIPS_FOREIGN_SUBSAMPLE_ON)
                ->set("keep", keep)));
    case ImageFormat::Gif:
        return take_blob(image.gifsave_buffer(VImage::option()->set("keep", keep)));
    default: break;
    }
    return {};
}

/** A slot of the lane for sources that cannot shrink on load, held for one transform. */
class LaneSlot {
public:
    LaneSlot() { lane().acquire(); }
    ~LaneSlot() { lane().release(); }
    LaneSlot(const LaneSlot&) = delete;
    LaneSlot& operator=(const LaneSlot&) = delete;

private:
    static std::counting_semaphore<>& lane() {
        static std::counting_semaphore<> slots(
            static_cast<std::ptrdiff_t>(std::max(1u, std::thread::hardware_concurrency())));
        return slots;
    }
};

core::Result<EncodedImage> run_pipeline(std::string_view bytes, const TransformSpec& spec,
                                        const SourceInfo& source, const Limits& limits,
                                        DeadlineGuard& guard, const DecodeReuse& reuse) {
    const auto started = Clock::now();
    Context ctx{spec, source, guard, VImage(), false, 0};
    CDN_TRY_VOID(load(ctx, bytes, reuse));
    auto_orient(ctx);
    CDN_TRY_VOID(crop_rect(ctx));
    trim_borders(ctx);
    rotate_and_flip(ctx);
    CDN_TRY_VOID(check_trimmed_output(ctx, limits));
    to_srgb(ctx);
    resize_to_fit(ctx);
    filters(ctx);
    add_padding(ctx);
    const auto format = output_format(spec, source, ctx.image.has_alpha(), ctx.animated);
    if (!can_animate(format)) {
        first_frame_only(ctx);
    }
    flatten_if_needed(ctx, format);
    const int keep = apply_metadata_policy(ctx);
    guard.watch(ctx.image.get_image());
    const auto encode_started = Clock::now();
    EncodedImage out;
    out.bytes = encode(ctx.image, format, spec, keep, guard);
    // The AVIF encoder and single SVG tiles cannot be stopped midway: a job that ends past its
    // deadline is still a timeout, and never cached.
    CDN_TRY_VOID(guard.check());
    out.encode_ms = elapsed_ms(encode_started);
    out.transform_ms = elapsed_ms(started) - out.encode_ms;
    out.format = format;
    out.width = static_cast<std::uint32_t>(ctx.image.width());
    out.height = static_cast<std::uint32_t>(ctx.frame_height);
    out.frames = static_cast<std::uint32_t>(ctx.image.height() / std::max(1, ctx.frame_height));
    out.source = source;
    return out;
}

} // namespace

core::Result<SourceInfo> probe_source(std::string_view bytes, const Limits& limits) {
    if (bytes.size() > limits.max_original_bytes) {
        return too_large("the original is larger than allowed");
    }
    SourceInfo info;
    info.format = sniff_format(bytes);
    info.bytes = bytes.size();
    if (info.format == ImageFormat::Unknown) {
        return core::make_error(core::Errc::UnprocessableImage,
                                "the original is not an image in a supported format");
    }
    if (decoded_outside_vips(info.format)) {
        CDN_TRY(header, info.format == ImageFormat::Heic ? read_heic_header(bytes)
                                                         : read_jxl_header(bytes));
        info.width = header.width;
        info.height = header.height;
        info.has_alpha = header.has_alpha;
        CDN_TRY_VOID(check_limits(info, limits));
        return info;
    }
    try {
        const auto header = open_header(bytes);
        info.frames = frame_count(header);
        info.width = static_cast<std::uint32_t>(header.width());
        info.height = static_cast<std::uint32_t>(
            header.get_typeof("page-height") != 0 ? header.get_int("page-height") : header.height());
        info.has_alpha = header.has_alpha();
        info.interlaced = is_interlaced(header);
        info.orientation = header.get_typeof("orientation") != 0 ? header.get_int("orientation") : 1;
    } catch (const vips::VError&) {
        return vips_error(core::Errc::UnprocessableImage, "the original could not be decoded");
    }
    CDN_TRY_VOID(check_limits(info, limits));
    return info;
}

namespace {

FitSizes fit_sizes(const TransformSpec& spec, const SourceInfo& source) {
    double w = source.width;
    double h = source.height;
    // As the pipeline: an animation is neither oriented, cut nor turned.
    if (source.frames > 1 && spec.anim) {
        return fitted(spec, w, h);
    }
    if (source.orientation >= 5) {
        std::swap(w, h);
    }
    if (spec.rect) {
        w = spec.rect->width;
        h = spec.rect->height;
    }
    if (spec.rotate == 90 || spec.rotate == 270) {
        std::swap(w, h);
    }
    return fitted(spec, w, h);
}

} // namespace

OutputSize output_size(const TransformSpec& spec, const SourceInfo& source) {
    return fit_sizes(spec, source).output;
}

core::Result<TransformSpec> bound_output(const TransformSpec& spec, const SourceInfo& source,
                                         const Limits& limits) {
    auto checked = check_fit(fit_sizes(spec, source), limits);
    if (checked || !spec.cap_to_limits) {
        return checked ? core::Result<TransformSpec>(spec) : checked.error();
    }
    // Shrink the box by how much the output is over. A box larger than what the fit gives
    // (scale-down) changes nothing until it bites, so keep shrinking: each round is geometric.
    TransformSpec capped = spec;
    for (int round = 0; round < 64 && !checked; ++round) {
        const auto size = output_size(capped, source);
        const auto dim = static_cast<double>(limits.max_output_dimension);
        const double factor = std::min(
            {dim / static_cast<double>(size.width), dim / static_cast<double>(size.height),
             std::sqrt(static_cast<double>(limits.max_output_pixels) /
                       (static_cast<double>(size.width) * static_cast<double>(size.height))),
             0.999});
        for (auto* side : {&capped.width, &capped.height}) {
            if (*side) {
                **side = std::max(1u, static_cast<std::uint32_t>(std::floor(**side * factor)));
            }
        }
        checked = check_fit(fit_sizes(capped, source), limits);
    }
    if (!checked) {
        return checked.error();
    }
    return capped;
}

core::Result<EncodedImage> transform_image(std::string_view bytes, const TransformSpec& spec,
                                           const Limits& limits, Clock::time_point deadline,
                                           const DecodeReuse& reuse) {
    auto result = [&]() -> core::Result<EncodedImage> {
        // Ends with the lambda, before end_vips_job: it holds the images it watches.
        DeadlineGuard guard(deadline);
        CDN_TRY(source, probe_source(bytes, limits));
        // From the header alone: an output over the limits is refused before any decode.
        CDN_TRY(bounded, bound_output(spec, source, limits));
        CDN_TRY_VOID(guard.check());
        // Progressive JPEGs and interlaced PNGs decode whole, at full size: one per core.
        std::optional<LaneSlot> lane;
        if (source.interlaced) {
            lane.emplace();
        }
        try {
            return run_pipeline(bytes, bounded, source, limits, guard, reuse);
        } catch (const vips::VError&) {
            return failure(guard, "the original could not be decoded");
        }
    }();
    end_vips_job();
    return result;
}

core::Result<std::string> rasterise_svg(std::string_view svg, const Limits& limits,
                                        Deadline deadline) {
    auto result = [&]() -> core::Result<std::string> {
        DeadlineGuard guard(deadline);
        CDN_TRY(source, probe_source(svg, limits));
        if (source.format != ImageFormat::Svg) {
            return core::make_error(core::Errc::UnprocessableImage, "the original is not an SVG");
        }
        CDN_TRY_VOID(guard.check());
        try {
            auto image = open_header(svg);
            guard.watch(image.get_image());
            auto png = take_blob(image.pngsave_buffer());
            CDN_TRY_VOID(guard.check());
            return png;
        } catch (const vips::VError&) {
            return failure(guard, "the SVG could not be rasterised");
        }
    }();
    end_vips_job();
    return result;
}

} // namespace cdn::transform
