#include "transform/foreign_decoders.h"

#include <jxl/decode.h>
#include <libheif/heif.h>

#include <cstring>
#include <memory>

namespace cdn::transform {
namespace {

core::Error undecodable(std::string detail) {
    return core::make_error(core::Errc::UnprocessableImage, "the original could not be decoded",
                            std::move(detail));
}

// ---- HEIC ----------------------------------------------------------------------------------

struct HeifContextDeleter {
    void operator()(heif_context* c) const { heif_context_free(c); }
};
struct HeifHandleDeleter {
    void operator()(heif_image_handle* h) const { heif_image_handle_release(h); }
};
struct HeifImageDeleter {
    void operator()(heif_image* i) const { heif_image_release(i); }
};
using HeifContext = std::unique_ptr<heif_context, HeifContextDeleter>;
using HeifHandle = std::unique_ptr<heif_image_handle, HeifHandleDeleter>;
using HeifImage = std::unique_ptr<heif_image, HeifImageDeleter>;

struct OpenedHeif {
    HeifContext context;
    HeifHandle handle;
};

core::Result<OpenedHeif> open_heif(std::string_view bytes) {
    OpenedHeif heif{HeifContext(heif_context_alloc()), nullptr};
    auto err = heif_context_read_from_memory_without_copy(heif.context.get(), bytes.data(),
                                                          bytes.size(), nullptr);
    if (err.code != heif_error_Ok) {
        return undecodable(err.message);
    }
    heif_image_handle* handle = nullptr;
    err = heif_context_get_primary_image_handle(heif.context.get(), &handle);
    if (err.code != heif_error_Ok) {
        return undecodable(err.message);
    }
    heif.handle.reset(handle);
    return heif;
}

// ---- JPEG XL -------------------------------------------------------------------------------

struct JxlDeleter {
    void operator()(JxlDecoder* d) const { JxlDecoderDestroy(d); }
};
using JxlDecoderPtr = std::unique_ptr<JxlDecoder, JxlDeleter>;

/**
 * A JxlParallelRunner that runs the decoder's work items one after another on the calling
 * thread (one thread per transform) and gives up once the deadline passes: libjxl then fails
 * the decode.
 */
struct DeadlineRunner {
    Deadline deadline;
    bool fired = false;

    static JxlParallelRetCode run(void* self, void* jxl, JxlParallelRunInit init,
                                  JxlParallelRunFunction func, std::uint32_t start,
                                  std::uint32_t end) {
        auto* runner = static_cast<DeadlineRunner*>(self);
        if (const auto status = init(jxl, 1); status != 0) {
            return status;
        }
        for (std::uint32_t i = start; i < end; ++i) {
            if (std::chrono::steady_clock::now() > runner->deadline) {
                runner->fired = true;
                return JXL_PARALLEL_RET_RUNNER_ERROR;
            }
            func(jxl, i, 0);
        }
        return 0;
    }
};

JxlDecoderPtr jxl_decoder(std::string_view bytes, int events) {
    JxlDecoderPtr dec(JxlDecoderCreate(nullptr));
    if (dec && JxlDecoderSubscribeEvents(dec.get(), events) == JXL_DEC_SUCCESS &&
        JxlDecoderSetInput(dec.get(), reinterpret_cast<const std::uint8_t*>(bytes.data()),
                           bytes.size()) == JXL_DEC_SUCCESS) {
        JxlDecoderCloseInput(dec.get());
        return dec;
    }
    return nullptr;
}

/** The image's size and channels, and the pixel format asked of libjxl to match. */
void take_basic_info(JxlDecoder* dec, DecodedPixels& out, JxlPixelFormat& format) {
    JxlBasicInfo info;
    JxlDecoderGetBasicInfo(dec, &info);
    out.width = info.xsize;
    out.height = info.ysize;
    out.bands = info.alpha_bits > 0 ? 4 : 3;
    format.num_channels = static_cast<std::uint32_t>(out.bands);
}

/** libjxl decodes straight into `out.pixels`, sized as it asks. */
void give_out_buffer(JxlDecoder* dec, DecodedPixels& out, const JxlPixelFormat& format) {
    std::size_t size = 0;
    JxlDecoderImageOutBufferSize(dec, &format, &size);
    out.pixels.resize(size);
    JxlDecoderSetImageOutBuffer(dec, &format, out.pixels.data(), size);
}

} // namespace

core::Result<ForeignHeader> read_heic_header(std::string_view bytes) {
    CDN_TRY(heif, open_heif(bytes));
    return ForeignHeader{
        static_cast<std::uint32_t>(heif_image_handle_get_width(heif.handle.get())),
        static_cast<std::uint32_t>(heif_image_handle_get_height(heif.handle.get())),
        heif_image_handle_has_alpha_channel(heif.handle.get()) != 0,
    };
}

core::Result<DecodedPixels> decode_heic(std::string_view bytes, Deadline deadline) {
    CDN_TRY_VOID(check_deadline(deadline));
    CDN_TRY(heif, open_heif(bytes));
    const bool alpha = heif_image_handle_has_alpha_channel(heif.handle.get()) != 0;
    heif_image* raw = nullptr;
    const auto err = heif_decode_image(heif.handle.get(), &raw, heif_colorspace_RGB,
                                       alpha ? heif_chroma_interleaved_RGBA
                                             : heif_chroma_interleaved_RGB,
                                       nullptr);
    if (err.code != heif_error_Ok) {
        return undecodable(err.message);
    }
    const HeifImage image(raw);
    CDN_TRY_VOID(check_deadline(deadline));
    int stride = 0;
    const auto* plane = heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
    DecodedPixels out;
    out.width = static_cast<std::uint32_t>(heif_image_get_width(image.get(), heif_channel_interleaved));
    out.height = static_cast<std::uint32_t>(heif_image_get_height(image.get(), heif_channel_interleaved));
    out.bands = alpha ? 4 : 3;
    if (plane == nullptr || out.width == 0 || out.height == 0) {
        return undecodable("libheif returned no pixels");
    }
    const std::size_t row = std::size_t{out.width} * static_cast<std::size_t>(out.bands);
    out.pixels.resize(row * out.height);
    for (std::uint32_t y = 0; y < out.height; ++y) {
        std::memcpy(out.pixels.data() + y * row, plane + static_cast<std::size_t>(y) * stride, row);
    }
    return out;
}

core::Result<ForeignHeader> read_jxl_header(std::string_view bytes) {
    auto dec = jxl_decoder(bytes, JXL_DEC_BASIC_INFO);
    if (!dec) {
        return undecodable("libjxl refused the input");
    }
    if (JxlDecoderProcessInput(dec.get()) != JXL_DEC_BASIC_INFO) {
        return undecodable("no JPEG XL header");
    }
    JxlBasicInfo info;
    JxlDecoderGetBasicInfo(dec.get(), &info);
    return ForeignHeader{info.xsize, info.ysize, info.alpha_bits > 0};
}

core::Result<DecodedPixels> decode_jxl(std::string_view bytes, Deadline deadline) {
    CDN_TRY_VOID(check_deadline(deadline));
    auto dec = jxl_decoder(bytes, JXL_DEC_BASIC_INFO | JXL_DEC_FULL_IMAGE);
    DeadlineRunner runner{deadline};
    if (!dec || JxlDecoderSetParallelRunner(dec.get(), &DeadlineRunner::run, &runner) !=
                    JXL_DEC_SUCCESS) {
        return undecodable("libjxl refused the input");
    }
    DecodedPixels out;
    JxlPixelFormat format{3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
    for (;;) {
        switch (JxlDecoderProcessInput(dec.get())) {
        case JXL_DEC_BASIC_INFO: take_basic_info(dec.get(), out, format); break;
        case JXL_DEC_NEED_IMAGE_OUT_BUFFER: give_out_buffer(dec.get(), out, format); break;
        case JXL_DEC_FULL_IMAGE: // the first frame is all we keep
        case JXL_DEC_SUCCESS:
            if (out.pixels.empty()) {
                return undecodable("no JPEG XL pixels");
            }
            return out;
        case JXL_DEC_NEED_MORE_INPUT: return undecodable("truncated JPEG XL data");
        default:
            if (runner.fired) {
                return timeout_error();
            }
            return undecodable("libjxl failed to decode");
        }
    }
}

} // namespace cdn::transform
