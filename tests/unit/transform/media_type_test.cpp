#include "transform/media_type.h"

#include <gtest/gtest.h>

#include <string>

namespace cdn::transform {
namespace {

TEST(MediaType, SniffsByMagicBytes) {
    EXPECT_EQ(sniff_format("\xFF\xD8\xFF\xE0rest"), ImageFormat::Jpeg);
    EXPECT_EQ(sniff_format("\x89PNG\r\n\x1A\nrest"), ImageFormat::Png);
    EXPECT_EQ(sniff_format("GIF89a..."), ImageFormat::Gif);
    EXPECT_EQ(sniff_format(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)), ImageFormat::Webp);
    EXPECT_EQ(sniff_format(std::string("II*\0rest", 8)), ImageFormat::Tiff);
    EXPECT_EQ(sniff_format(std::string("\0\0\0\x1C" "ftypavif\0\0\0\0avifmif1miaf", 28)), ImageFormat::Avif);
    EXPECT_EQ(sniff_format(std::string("\0\0\0\x18" "ftypheic\0\0\0\0mif1heic", 24)), ImageFormat::Heic);
    EXPECT_EQ(sniff_format(std::string("\0\0\0\x1C" "ftypmif1\0\0\0\0mif1avifmiaf", 28)), ImageFormat::Avif);
    EXPECT_EQ(sniff_format("\xFF\x0A rest"), ImageFormat::Jxl);
    EXPECT_EQ(sniff_format("  <?xml version=\"1.0\"?><svg xmlns=\"...\"></svg>"), ImageFormat::Svg);
}

TEST(MediaType, RefusesEverythingElse) {
    EXPECT_EQ(sniff_format(""), ImageFormat::Unknown);
    EXPECT_EQ(sniff_format("hello world, a text file named .jpg"), ImageFormat::Unknown);
    EXPECT_EQ(sniff_format("BM\x36\0\0\0"), ImageFormat::Unknown); // BMP
    EXPECT_EQ(sniff_format("%PDF-1.7"), ImageFormat::Unknown);
    EXPECT_EQ(sniff_format("<html><body>no svg</body></html>"), ImageFormat::Unknown);
}

TEST(MediaType, NamesAndTypes) {
    EXPECT_EQ(mime_type(ImageFormat::Webp), "image/webp");
    EXPECT_EQ(format_name(ImageFormat::Jpeg), "jpeg");
    EXPECT_EQ(mime_type(ImageFormat::Unknown), "application/octet-stream");
}

} // namespace
} // namespace cdn::transform
