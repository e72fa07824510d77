#include "transform/media_type.h"

#include <array>

namespace cdn::transform {
namespace {

bool has_prefix(std::string_view bytes, std::string_view magic) { return bytes.starts_with(magic); }

/** ISO BMFF (HEIF family): `ftyp` box at offset 4, brands after it. */
ImageFormat sniff_bmff(std::string_view bytes) {
    if (bytes.size() < 16 || bytes.substr(4, 4) != "ftyp") {
        return ImageFormat::Unknown;
    }
    const auto major = bytes.substr(8, 4);
    if (major == "avif" || major == "avis") {
        return ImageFormat::Avif;
    }
    static constexpr std::array<std::string_view, 8> HEIC_BRANDS{"heic", "heix", "hevc", "hevx",
                                                                 "heim", "heis", "hevm", "hevs"};
    for (auto brand : HEIC_BRANDS) {
        if (major == brand) {
            return ImageFormat::Heic;
        }
    }
    if (major == "mif1" || major == "msf1") {
        // The compatible brands decide: an AVIF written as mif1 lists avif among them.
        const auto box_size = static_cast<unsigned char>(bytes[3]) |
                              (static_cast<unsigned char>(bytes[2]) << 8);
        const auto brands = bytes.substr(16, box_size > 16 ? box_size - 16 : 0);
        for (std::size_t i = 0; i + 4 <= brands.size(); i += 4) {
            if (brands.substr(i, 4) == "avif") {
                return ImageFormat::Avif;
            }
        }
        return ImageFormat::Heic;
    }
    return ImageFormat::Unknown;
}

bool looks_like_svg(std::string_view bytes) {
    auto head = bytes.substr(0, 4096);
    if (head.starts_with("\xEF\xBB\xBF")) {
        head.remove_prefix(3);
    }
    const auto first = head.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || head[first] != '<') {
        return false;
    }
    return head.find("<svg") != std::string_view::npos;
}

} // namespace

ImageFormat sniff_format(std::string_view bytes) {
    if (has_prefix(bytes, "\xFF\xD8\xFF")) {
        return ImageFormat::Jpeg;
    }
    if (has_prefix(bytes, "\x89PNG\r\n\x1A\n")) {
        return ImageFormat::Png;
    }
    if (has_prefix(bytes, "GIF87a") || has_prefix(bytes, "GIF89a")) {
        return ImageFormat::Gif;
    }
    if (bytes.size() >= 12 && has_prefix(bytes, "RIFF") && bytes.substr(8, 4) == "WEBP") {
        return ImageFormat::Webp;
    }
    if (has_prefix(bytes, std::string_view("II*\0", 4)) ||
        has_prefix(bytes, std::string_view("MM\0*", 4))) {
        return ImageFormat::Tiff;
    }
    if (has_prefix(bytes, "\xFF\x0A") ||
        has_prefix(bytes, std::string_view("\0\0\0\x0CJXL \r\n\x87\n", 12))) {
        return ImageFormat::Jxl;
    }
    if (const auto bmff = sniff_bmff(bytes); bmff != ImageFormat::Unknown) {
        return bmff;
    }
    return looks_like_svg(bytes) ? ImageFormat::Svg : ImageFormat::Unknown;
}

std::string_view mime_type(ImageFormat format) {
    switch (format) {
    case ImageFormat::Jpeg: return "image/jpeg";
    case ImageFormat::Png: return "image/png";
    case ImageFormat::Webp: return "image/webp";
    case ImageFormat::Avif: return "image/avif";
    case ImageFormat::Heic: return "image/heic";
    case ImageFormat::Gif: return "image/gif";
    case ImageFormat::Svg: return "image/svg+xml";
    case ImageFormat::Tiff: return "image/tiff";
    case ImageFormat::Jxl: return "image/jxl";
    case ImageFormat::Unknown: break;
    }
    return "application/octet-stream";
}

std::string_view format_name(ImageFormat format) {
    switch (format) {
    case ImageFormat::Jpeg: return "jpeg";
    case ImageFormat::Png: return "png";
    case ImageFormat::Webp: return "webp";
    case ImageFormat::Avif: return "avif";
    case ImageFormat::Heic: return "heic";
    case ImageFormat::Gif: return "gif";
    case ImageFormat::Svg: return "svg";
    case ImageFormat::Tiff: return "tiff";
    case ImageFormat::Jxl: return "jxl";
    case ImageFormat::Unknown: break;
    }
    return "unknown";
}

} // namespace cdn::transform
