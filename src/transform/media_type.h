#pragma once

#include <string_view>

namespace cdn::transform {

/** The input and output formats of delivery.md, told apart by content, never by name. */
enum class ImageFormat { Unknown, Jpeg, Png, Webp, Avif, Heic, Gif, Svg, Tiff, Jxl };

/** The format of these bytes from their magic numbers (and, for SVG, the root element). */
ImageFormat sniff_format(std::string_view bytes);

/** "image/jpeg" etc.; "application/octet-stream" for Unknown. */
std::string_view mime_type(ImageFormat format);

/** "jpeg", "png", ... as used in `format=` and in JSON. */
std::string_view format_name(ImageFormat format);

} // namespace cdn::transform
