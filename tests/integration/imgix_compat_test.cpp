// imgix's URL parameters against the real binary (issue 15, docs/compat.md).
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

#include "fixtures.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

/** The big-endian 16-bit number at `at`. */
unsigned be16(const std::string& bytes, std::size_t at) {
    return (static_cast<unsigned char>(bytes[at]) << 8) | static_cast<unsigned char>(bytes[at + 1]);
}

/** Where the first JPEG marker `marker` (0xFF then `marker`) is, scanning segment by segment
 *  up to the start of scan: a marker byte pair inside a segment's data does not count. */
std::optional<std::size_t> find_jpeg_marker(const std::string& jpeg, unsigned char marker) {
    std::size_t at = 2; // after SOI
    while (at + 4 <= jpeg.size() && static_cast<unsigned char>(jpeg[at]) == 0xFF) {
        const auto code = static_cast<unsigned char>(jpeg[at + 1]);
        if (code == marker) {
            return at;
        }
        if (code == 0xDA) { // start of scan: entropy-coded data follows
            return std::nullopt;
        }
        at += 2 + static_cast<std::size_t>(be16(jpeg, at + 2));
    }
    return std::nullopt;
}

/** The width and height in a JPEG's start-of-frame segment at `sof`. */
unsigned sof_width(const std::string& jpeg, std::size_t sof) { return be16(jpeg, sof + 7); }
unsigned sof_height(const std::string& jpeg, std::size_t sof) { return be16(jpeg, sof + 5); }

class ImgixCompatTest : public ::testing::Test {
protected:
    void SetUp() override {
        public_key_ = create_customer(dir_.path(), "imgix@example.com");
        ASSERT_FALSE(public_key_.empty());
        put_original(dir_.path(), public_key_, "photo.jpg", sample_jpeg());
        server_ = std::make_unique<ServerProcess>(dir_.path());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    RawResponse get(const std::string& query,
                    const std::map<std::string, std::string>& headers = {}) {
        auto res = http_request(server_->port(), "GET", "/" + public_key_ + "/photo.jpg?" + query,
                                headers);
        EXPECT_TRUE(res) << query;
        return res.value_or(RawResponse{});
    }

    TempDir dir_;
    std::string public_key_;
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(ImgixCompatTest, IxlibIsIgnoredAndSharesTheCacheEntry) {
    const auto plain = get("w=64");
    const auto from_js_core = get("w=64&ixlib=js-3.8.0");
    EXPECT_EQ(plain.status, 200);
    EXPECT_EQ(from_js_core.status, 200) << from_js_core.body;
    EXPECT_EQ(plain.header("x-cache"), "MISS");
    EXPECT_EQ(from_js_core.header("x-cache"), "HIT");
    EXPECT_EQ(from_js_core.body, plain.body);
}

TEST_F(ImgixCompatTest, PjpgIsProgressiveAndJpgIsNot) {
    // Small enough that a plain JPEG stays baseline (progressive only above 10 KB).
    const auto pjpg = get("w=48&fm=pjpg");
    const auto jpg = get("w=48&fm=jpg");
    ASSERT_EQ(pjpg.status, 200) << pjpg.body;
    ASSERT_EQ(jpg.status, 200) << jpg.body;
    EXPECT_EQ(pjpg.header("content-type"), "image/jpeg");
    EXPECT_EQ(jpg.header("x-cache"), "MISS"); // a cache variant of its own
    const auto sof2 = find_jpeg_marker(pjpg.body, 0xC2);
    ASSERT_TRUE(sof2) << "fm=pjpg has no SOF2 (progressive) marker";
    EXPECT_EQ(sof_width(pjpg.body, *sof2), 48U);
    EXPECT_FALSE(find_jpeg_marker(jpg.body, 0xC2));
    EXPECT_TRUE(find_jpeg_marker(jpg.body, 0xC0));
}

TEST_F(ImgixCompatTest, BaselineJpegIsBaselineWhateverItsSize) {
    // Large enough that a plain JPEG is progressive (above 10 KB); Cloudflare's baseline-jpeg
    // (for old decoders) stays baseline.
    const auto jpeg = get("w=600&format=jpeg");
    const auto baseline = get("w=600&format=baseline-jpeg");
    ASSERT_EQ(jpeg.status, 200) << jpeg.body;
    ASSERT_EQ(baseline.status, 200) << baseline.body;
    ASSERT_GT(baseline.body.size(), 10'240U);
    EXPECT_TRUE(find_jpeg_marker(jpeg.body, 0xC2));
    EXPECT_EQ(baseline.header("x-cache"), "MISS"); // a cache variant of its own
    EXPECT_FALSE(find_jpeg_marker(baseline.body, 0xC2));
    const auto sof0 = find_jpeg_marker(baseline.body, 0xC0);
    ASSERT_TRUE(sof0) << "baseline-jpeg has no SOF0 (baseline) marker";
    EXPECT_EQ(sof_width(baseline.body, *sof0), 600U);
}

TEST_F(ImgixCompatTest, ChAnswersAcceptChAndHonoursTheHints) {
    const auto res = get("w=64&ch=Width,DPR");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.header("accept-ch"), "Sec-CH-Width, Sec-CH-DPR");
    // Without a w, the width hint sizes the output, and the answer varies on it.
    const auto hinted = get("ch=Width,DPR&fm=jpg", {{"Sec-CH-Width", "40"}});
    ASSERT_EQ(hinted.status, 200) << hinted.body;
    EXPECT_EQ(hinted.header("accept-ch"), "Sec-CH-Width, Sec-CH-DPR");
    EXPECT_NE(hinted.header("vary").value_or("").find("Sec-CH-Width"), std::string::npos);
    const auto sof = find_jpeg_marker(hinted.body, 0xC0);
    ASSERT_TRUE(sof);
    EXPECT_EQ(sof_width(hinted.body, *sof), 40U);
    // Without ch, no Accept-CH.
    EXPECT_FALSE(get("w=64").header("accept-ch"));
}

TEST_F(ImgixCompatTest, PadKeepsTheRequestedWidthWithABorderInside) {
    const auto padded = get("w=60&pad=10&fm=jpg&bg=00f");
    const auto plain = get("w=60&fm=jpg");
    ASSERT_EQ(padded.status, 200) << padded.body;
    ASSERT_EQ(plain.status, 200) << plain.body;
    const auto sof = find_jpeg_marker(padded.body, 0xC0);
    const auto plain_sof = find_jpeg_marker(plain.body, 0xC0);
    ASSERT_TRUE(sof && plain_sof);
    EXPECT_EQ(sof_width(padded.body, *sof), 60U);
    // The image is fitted into 40 px (60 minus two 10 px borders), then framed: its height is
    // two thirds of the unpadded one (±1 for rounding), plus 20.
    const double inner = sof_height(plain.body, *plain_sof) * 40.0 / 60.0;
    EXPECT_NEAR(sof_height(padded.body, *sof), inner + 20, 1.0);
}

TEST_F(ImgixCompatTest, FaceDetectionIsRefusedNamingTheOption) {
    const auto facearea = get("w=64&h=64&fit=facearea");
    EXPECT_EQ(facearea.status, 400);
    EXPECT_EQ(error_code(facearea), "unsupported_parameter");
    EXPECT_NE(facearea.body.find("fit=facearea"), std::string::npos) << facearea.body;
    const auto faces = get("w=64&h=64&fit=crop&crop=faces");
    EXPECT_EQ(faces.status, 400);
    EXPECT_EQ(error_code(faces), "unsupported_parameter");
    EXPECT_NE(faces.body.find("crop=faces"), std::string::npos) << faces.body;
}

} // namespace
} // namespace cdn::test
