#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vips/vips8>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using vips::VImage;

/** A real photograph from Debian's mate-backgrounds: 2560×1600 JPEG. */
constexpr const char* PHOTO = "/usr/share/backgrounds/mate/nature/LadyBird.jpg";

VImage decode(const std::string& bytes) {
    return VImage::new_from_buffer(bytes.data(), bytes.size(), "", VImage::option()->set("n", -1));
}

std::uint32_t crc(std::string_view data) {
    return static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(data.data()),
                                            static_cast<uInt>(data.size())));
}

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

std::string png_chunk(std::string_view type, std::string_view data) {
    std::string body = std::string(type) + std::string(data);
    return be32(static_cast<std::uint32_t>(data.size())) + body + be32(crc(body));
}

/** A small file that decodes to `side`×`side` 1-bit pixels: a decompression bomb. */
std::string png_bomb(std::uint32_t side) {
    const std::size_t row = side / 8 + 1;
    std::string raw(row * side, '\0');
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::string deflated(size, '\0');
    compress2(reinterpret_cast<Bytef*>(deflated.data()), &size,
              reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9);
    deflated.resize(size);
    const std::string ihdr = be32(side) + be32(side) + std::string("\x01\x00\x00\x00\x00", 5);
    return std::string("\x89PNG\r\n\x1A\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", deflated) +
           png_chunk("IEND", "");
}

/** A 1×1 GIF with `frames` frames. */
std::string many_frame_gif(int frames) {
    std::string gif("GIF89a\x01\x00\x01\x00\x80\x00\x00", 13);
    gif += std::string("\x00\x00\x00\xFF\xFF\xFF", 6);
    for (int i = 0; i < frames; ++i) {
        gif += std::string("\x21\xF9\x04\x00\x01\x00\x00\x00", 8);
        gif += std::string("\x2C\x00\x00\x00\x00\x01\x00\x01\x00\x00", 10);
        gif += std::string("\x02\x02\x44\x01\x00", 5);
    }
    gif += ";";
    return gif;
}

class TransformTest : public ::testing::Test {
protected:
    void SetUp() override {
        (void)sample_png(); // starts libvips in this process
        ASSERT_TRUE(std::filesystem::exists(PHOTO)) << "install Debian's mate-backgrounds";
        photo_ = read_file(PHOTO);
        free_key_ = create_customer(dir_.path(), "free@example.com", "free");
        pro_key_ = create_customer(dir_.path(), "pro@example.com", "pro");
        for (const auto& key : {free_key_, pro_key_}) {
            put_original(dir_.path(), key, "photo.jpg", photo_);
            put_original(dir_.path(), key, "logo.png", sample_png());
        }
        server_ = std::make_unique<ServerProcess>(dir_.path());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    RawResponse get(const std::string& key, const std::string& target,
                    const std::map<std::string, std::string>& headers = {}) {
        auto res = http_request(server_->port(), "GET", "/" + key + "/" + target, headers);
        EXPECT_TRUE(res) << target;
        return res ? *res : RawResponse{};
    }

    void expect_error(const std::string& target, int status, const std::string& code) {
        const auto res = get(pro_key_, target);
        EXPECT_EQ(res.status, status) << target << " " << res.body;
        EXPECT_NE(res.body.find("\"code\":\"" + code + "\""), std::string::npos) << target << " " << res.body;
        EXPECT_EQ(res.header("cache-control"), "no-store") << target;
    }

    void expect_still_serving() {
        const auto res = get(pro_key_, "logo.png");
        EXPECT_EQ(res.status, 200);
    }

    TempDir dir_;
    std::string photo_;
    std::string free_key_;
    std::string pro_key_;
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(TransformTest, FitModesOnARealPhotograph) {
    struct Case {
        std::string query;
        int width;
        int height;
    };
    for (const auto& c : std::vector<Case>{{"w=800", 800, 500},
                                           {"w=640&h=640&fit=contain", 640, 400},
                                           {"w=640&h=640&fit=cover", 640, 640},
                                           {"w=640&h=640&fit=pad", 640, 640},
                                           {"w=640&h=100&fit=squeeze", 640, 100},
                                           {"w=4000&h=1000&fit=crop", 2560, 1000},
                                           {"w=4000&fit=scale-down", 2560, 1600},
                                           {"h=400&fit=max", 640, 400}}) {
        const auto res = get(pro_key_, "photo.jpg?" + c.query + "&fm=png");
        ASSERT_EQ(res.status, 200) << c.query << " " << res.body;
        const auto image = decode(res.body);
        EXPECT_EQ(image.width(), c.width) << c.query;
        EXPECT_EQ(image.height(), c.height) << c.query;
    }
}

TEST_F(TransformTest, AliasesShareOneCacheEntryAndServerTimingOnMiss) {
    const auto first = get(pro_key_, "photo.jpg?w=300");
    EXPECT_EQ(first.header("x-cache"), "MISS");
    EXPECT_NE(first.header("server-timing").value_or("").find("transform;dur="), std::string::npos);
    EXPECT_EQ(first.header("content-type"), "image/jpeg");
    const auto second = get(pro_key_, "photo.jpg?width=300&fit=scale-down");
    EXPECT_EQ(second.header("x-cache"), "HIT");
    EXPECT_EQ(second.body, first.body);
}

TEST_F(TransformTest, NegotiationMatrix) {
    const std::string avif_webp = "image/avif,image/webp,*/*";
    const std::string webp_only = "image/webp,*/*";
    const std::string legacy = "image/png,image/jpeg,*/*";
    struct Case {
        std::string key;
        std::string accept;
        std::string path;
        std::string type;
    };
    for (const auto& c : std::vector<Case>{
             {pro_key_, avif_webp, "photo.jpg", "image/avif"},
             {free_key_, avif_webp, "photo.jpg", "image/webp"},
             {pro_key_, webp_only, "photo.jpg", "image/webp"},
             {free_key_, webp_only, "photo.jpg", "image/webp"},
             {pro_key_, legacy, "photo.jpg", "image/jpeg"},
             {free_key_, legacy, "logo.png", "image/png"},
         }) {
        const auto res = get(c.key, c.path + "?w=200&format=auto", {{"Accept", c.accept}});
        EXPECT_EQ(res.status, 200);
        EXPECT_EQ(res.header("content-type"), c.type) << c.accept << " " << c.path;
        EXPECT_NE(res.header("vary").value_or("").find("Accept"), std::string::npos);
        EXPECT_EQ(decode(res.body).width(), 200);
    }
    // imgix spelling.
    const auto imgix = get(pro_key_, "photo.jpg?w=200&auto=format", {{"Accept", webp_only}});
    EXPECT_EQ(imgix.header("content-type"), "image/webp");
    // Explicit AVIF is a plan feature.
    const auto refused = get(free_key_, "photo.jpg?w=200&format=avif");
    EXPECT_EQ(refused.status, 403);
    EXPECT_NE(refused.body.find("feature_not_in_plan"), std::string::npos);
}

TEST_F(TransformTest, PlanDimensionLimitAndDprCap) {
    const auto too_wide = get(free_key_, "photo.jpg?w=3000");
    EXPECT_EQ(too_wide.status, 400);
    EXPECT_NE(too_wide.body.find("dimension_too_large"), std::string::npos);
    const auto capped = get(free_key_, "photo.jpg?w=1500&dpr=2&fit=contain&fm=png");
    EXPECT_EQ(capped.status, 200);
    EXPECT_EQ(decode(capped.body).width(), 2048);
    const auto doubled = get(pro_key_, "photo.jpg?w=300&dpr=2&fm=png");
    EXPECT_EQ(decode(doubled.body).width(), 600);
}

TEST_F(TransformTest, ClientHintsApplyOnlyToTransformsAndVary) {
    const auto hinted = get(pro_key_, "photo.jpg?w=300&fm=png", {{"Sec-CH-DPR", "2"}});
    EXPECT_EQ(decode(hinted.body).width(), 600);
    EXPECT_NE(hinted.header("vary").value_or("").find("Sec-CH-DPR"), std::string::npos);
    const auto width_hint = get(pro_key_, "photo.jpg?fm=png", {{"Sec-CH-Width", "500"}});
    EXPECT_EQ(decode(width_hint.body).width(), 500);
    const auto original = get(pro_key_, "photo.jpg", {{"Sec-CH-DPR", "2"}});
    EXPECT_EQ(original.body, photo_);
}

TEST_F(TransformTest, JsonDescribesOriginalAndOutput) {
    const auto res = get(pro_key_, "photo.jpg?w=400&format=json");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.header("content-type"), "application/json");
    for (const auto* field : {R"("original":{"width":2560,"height":1600,"format":"jpeg")",
                              R"("frames":1)", R"("output":{"width":400,"height":250,"format":"jpeg")"}) {
        EXPECT_NE(res.body.find(field), std::string::npos) << field << " in " << res.body;
    }
    EXPECT_NE(res.body.find(R"("bytes":)" + std::to_string(photo_.size())), std::string::npos);
}

TEST_F(TransformTest, ValidationErrors) {
    expect_error("photo.jpg?w=abc", 400, "invalid_parameter");
    expect_error("photo.jpg?w=100&width=200", 400, "invalid_parameter");
    expect_error("photo.jpg?q=101", 400, "invalid_parameter");
    expect_error("photo.jpg?fit=stretch", 400, "invalid_parameter");
    expect_error("photo.jpg?bg=zzz", 400, "invalid_parameter");
    expect_error("photo.jpg?g=2x2", 400, "invalid_parameter");
    expect_error("photo.jpg?frobnicate=1", 400, "unknown_parameter");
    expect_error("photo.jpg?w=9000", 400, "dimension_too_large");
    expect_error("photo.jpg?rect=2000,0,1000,100", 400, "invalid_parameter");
    const auto v_only = get(pro_key_, "photo.jpg?v=3");
    EXPECT_EQ(v_only.body, photo_);
}

TEST_F(TransformTest, MetadataNoneStripsExifByDefault) {
    auto image = decode(photo_).copy();
    image.set("exif-ifd0-Copyright", "(c) Someone");
    void* buf = nullptr;
    size_t len = 0;
    image.write_to_buffer(".jpg", &buf, &len);
    put_original(dir_.path(), pro_key_, "exif.jpg", std::string(static_cast<char*>(buf), len));
    g_free(buf);
    EXPECT_EQ(decode(get(pro_key_, "exif.jpg?w=100").body).get_typeof("exif-data"), 0u);
    EXPECT_NE(decode(get(pro_key_, "exif.jpg?w=100&metadata=keep").body).get_typeof("exif-data"), 0u);
}

TEST_F(TransformTest, AnimatedGifToWebpKeepsFrames) {
    std::vector<VImage> frames;
    for (int i = 0; i < 4; ++i) {
        frames.push_back(VImage::black(60, 40).linear(std::vector<double>{1}, std::vector<double>{i * 60.0}).cast(VIPS_FORMAT_UCHAR));
    }
    auto strip = VImage::arrayjoin(frames, VImage::option()->set("across", 1));
    strip.set("page-height", 40);
    void* buf = nullptr;
    size_t len = 0;
    strip.write_to_buffer(".gif", &buf, &len);
    put_original(dir_.path(), pro_key_, "anim.gif", std::string(static_cast<char*>(buf), len));
    g_free(buf);
    const auto webp = get(pro_key_, "anim.gif?w=30&fm=webp");
    EXPECT_EQ(webp.header("content-type"), "image/webp");
    EXPECT_EQ(decode(webp.body).get_int("n-pages"), 4);
    const auto still = get(pro_key_, "anim.gif?w=30&fm=webp&anim=false");
    EXPECT_EQ(decode(still.body).get_typeof("n-pages") == 0 ? 1 : decode(still.body).get_int("n-pages"), 1);
}

TEST_F(TransformTest, HostileInputsAreRefusedAndTheServerKeepsServing) {
    put_original(dir_.path(), pro_key_, "truncated.jpg", photo_.substr(0, photo_.size() / 2));
    put_original(dir_.path(), pro_key_, "bomb.png", png_bomb(20000));
    put_original(dir_.path(), pro_key_, "frames.gif", many_frame_gif(3000));
    put_original(dir_.path(), pro_key_, "text.jpg", "just some text, not an image\n");
    put_original(dir_.path(), pro_key_, "empty.jpg", "");
    put_original(dir_.path(), pro_key_, "image.bmp", std::string("BM\x46\0\0\0\0\0\0\0\x36\0\0\0", 14) + std::string(56, '\0'));
    ASSERT_LT(read_file(dir_.path() + "/originals/" + pro_key_ + "/bomb.png").size(), 200000u);
    expect_error("truncated.jpg?w=100", 422, "unprocessable_image");
    expect_still_serving();
    expect_error("bomb.png?w=100", 413, "source_too_large");
    expect_still_serving();
    expect_error("frames.gif?w=10", 413, "source_too_large");
    expect_still_serving();
    expect_error("text.jpg?w=100", 422, "unprocessable_image");
    expect_error("text.jpg", 422, "unprocessable_image");
    expect_error("empty.jpg?w=100", 422, "unprocessable_image");
    expect_error("image.bmp?w=100", 422, "unprocessable_image");
    expect_still_serving();
}

TEST_F(TransformTest, SvgReferencesAreNeverFetched) {
    // A listener the SVG points at: nothing may connect to it.
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::listen(listener, 4);
    socklen_t len = sizeof(addr);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    const auto port = ntohs(addr.sin_port);
    const auto secret = dir_.path() + "/secret.png";
    std::ofstream(secret, std::ios::binary) << sample_png();
    const std::string svg =
        R"(<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="50">)"
        R"(<image x="0" y="0" width="50" height="50" xlink:href="http://127.0.0.1:)" + std::to_string(port) + R"(/x.png"/>)"
        R"(<image x="50" y="0" width="50" height="50" xlink:href="file://)" + secret + R"("/>)"
        R"(</svg>)";
    put_original(dir_.path(), pro_key_, "refs.svg", svg);
    const auto res = get(pro_key_, "refs.svg");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.header("content-type"), "image/png");
    const auto image = decode(res.body);
    EXPECT_EQ(image.width(), 100);
    // Neither image was drawn: the canvas stays transparent where they would be.
    EXPECT_EQ(image.getpoint(25, 25).back(), 0.0);
    EXPECT_EQ(image.getpoint(75, 25).back(), 0.0);
    pollfd p{listener, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 200), 0) << "the server connected to the SVG's URL";
    ::close(listener);
}

} // namespace
} // namespace cdn::test

namespace cdn::test {
namespace {

TEST(TransformLimits, TimeoutAndFullQueueAreRefusedWith503) {
    (void)sample_png();
    TempDir dir;
    const auto key = create_customer(dir.path(), "limits@example.com", "pro");
    put_original(dir.path(), key, "photo.jpg", read_file(PHOTO));
    {
        ServerProcess server(dir.path(), {{"IMAGECDN_LIMITS_TRANSFORM_TIMEOUT_MS", "1"}});
        ASSERT_TRUE(server.start()) << server.stderr_text();
        const auto res = http_request(server.port(), "GET", "/" + key + "/photo.jpg?w=2000&blur=100");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 503);
        EXPECT_NE(res->body.find("transform_timeout"), std::string::npos) << res->body;
        EXPECT_EQ(server.stop(), 0);
    }
    // One worker, no queue: of several transforms at once, some are refused at once.
    ServerProcess server(dir.path(), {{"IMAGECDN_LIMITS_MAX_CONCURRENT_TRANSFORMS", "1"},
                                      {"IMAGECDN_LIMITS_TRANSFORM_QUEUE", "0"}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    std::vector<std::unique_ptr<RawConnection>> conns;
    for (int i = 0; i < 6; ++i) {
        conns.push_back(std::make_unique<RawConnection>(server.port()));
        ASSERT_TRUE(conns.back()->send("GET /" + key + "/photo.jpg?w=1000&blur=20&v=" +
                                       std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    int ok = 0;
    int busy = 0;
    for (auto& conn : conns) {
        const auto res = conn->read_response(false, std::chrono::seconds(60));
        ASSERT_TRUE(res);
        if (res->status == 200) {
            ++ok;
        } else if (res->status == 503 && res->body.find("\"busy\"") != std::string::npos) {
            ++busy;
            EXPECT_EQ(res->header("retry-after"), "1");
        }
    }
    EXPECT_GE(ok, 1);
    EXPECT_GE(busy, 1);
    EXPECT_EQ(ok + busy, 6);
    // The worker frees its slot just after answering: with no queue, a request at that instant
    // may still be refused; the server serves again within moments.
    int status = 0;
    poll_until([&] {
        const auto after = http_request(server.port(), "GET", "/" + key + "/photo.jpg?w=100");
        EXPECT_TRUE(after);
        status = after ? after->status : 0;
        return status == 200;
    }, std::chrono::seconds(5), std::chrono::milliseconds(100));
    EXPECT_EQ(status, 200);
}

} // namespace
} // namespace cdn::test

namespace cdn::test {
namespace {

/** Converts a PNG with one of Debian's encoders (libheif-examples, libjxl-tools). */
std::string convert(const std::string& dir, const std::string& png, const std::string& tool,
                    const std::string& extension) {
    const auto in = dir + "/in.png";
    const auto out = dir + "/out." + extension;
    std::ofstream(in, std::ios::binary) << png;
    const auto command = tool + " '" + in + "' " + (tool == "heif-enc" ? "-o '" + out + "'" : "'" + out + "'") +
                         " >/dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return read_file(out);
}

TEST(ForeignFormats, HeicAndJpegXlOriginalsAreTransformed) {
    (void)sample_png(); // starts libvips in this process
    TempDir dir;
    const auto key = create_customer(dir.path(), "formats@example.com", "pro");
    // libvips reads the buffer lazily: it must outlive the image.
    const auto photo_bytes = read_file(PHOTO);
    auto photo = decode(photo_bytes).resize(0.25);
    void* buf = nullptr;
    size_t len = 0;
    photo.write_to_buffer(".png", &buf, &len);
    const std::string png(static_cast<char*>(buf), len);
    g_free(buf);
    const auto heic = convert(dir.path(), png, "heif-enc", "heic");
    const auto jxl = convert(dir.path(), png, "cjxl", "jxl");
    ASSERT_EQ(heic.substr(4, 8), "ftypheic");
    put_original(dir.path(), key, "photo.heic", heic);
    put_original(dir.path(), key, "photo.jxl", jxl);
    put_original(dir.path(), key, "broken.heic", heic.substr(0, heic.size() / 2));
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    for (const auto* path : {"photo.heic", "photo.jxl"}) {
        const auto res = http_request(server.port(), "GET", "/" + key + "/" + path + "?w=100&fm=png");
        ASSERT_TRUE(res);
        ASSERT_EQ(res->status, 200) << path << " " << res->body;
        const auto image = decode(res->body);
        EXPECT_EQ(image.width(), 100) << path;
        EXPECT_EQ(image.height(), 63) << path;
        // The photo's colours survive the trip: not a blank or grey image.
        EXPECT_GT(image.deviate(), 5.0) << path;
        const auto json = http_request(server.port(), "GET", "/" + key + "/" + path + "?format=json");
        ASSERT_TRUE(json);
        EXPECT_NE(json->body.find(R"("width":640,"height":400)"), std::string::npos) << json->body;
    }
    const auto broken = http_request(server.port(), "GET", "/" + key + "/broken.heic?w=100");
    ASSERT_TRUE(broken);
    EXPECT_EQ(broken->status, 422);
}

} // namespace
} // namespace cdn::test
