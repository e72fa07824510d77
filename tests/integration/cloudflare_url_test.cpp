// Cloudflare's URL format (issue 15, item 2) against the real binary on loopback:
// `/cdn-cgi/image/<options>/<public_key>/<path>` and, on a custom domain,
// `/cdn-cgi/image/<options>/<path>`.
#include <gtest/gtest.h>
#include <vips/vips8>

#include "fixtures.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;

vips::VImage decode(const std::string& bytes) {
    return vips::VImage::new_from_buffer(bytes.data(), bytes.size(), "");
}

class CloudflareUrlTest : public ::testing::Test {
protected:
    void SetUp() override {
        (void)sample_png(); // starts libvips in this process
        pk_ = create_account_with_images(dir_.path(), "cf@example.com", "pro").public_key;
        ASSERT_FALSE(pk_.empty());
    }

    void start() {
        server_ = std::make_unique<ServerProcess>(dir_.path());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    CommandResult cli(std::vector<std::string> args) {
        return run_imagecdn_on(dir_.path(), std::move(args));
    }

    RawResponse get(const std::string& target, const Headers& headers = {}) {
        auto res = http_request(server_->port(), "GET", target, headers);
        EXPECT_TRUE(res) << target;
        return res ? *res : RawResponse{};
    }

    /** `/cdn-cgi/image/{options}/{pk}/{path}`. */
    std::string cf(const std::string& options, const std::string& path) const {
        return "/cdn-cgi/image/" + options + "/" + pk_ + "/" + path;
    }

    TempDir dir_;
    std::string pk_;
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(CloudflareUrlTest, WidthQualityWordsAndFormatAuto) {
    start();
    const auto resized = get(cf("width=120,quality=75", "photo.jpg"));
    ASSERT_EQ(resized.status, 200) << resized.body;
    EXPECT_EQ(resized.header("content-type"), "image/jpeg");
    EXPECT_EQ(decode(resized.body).width(), 120);

    // The perceptual levels are encoder qualities: low (50) is smaller than high (90).
    const auto low = get(cf("w=400,q=low", "photo.jpg"));
    const auto high = get(cf("w=400,quality=high", "photo.jpg"));
    ASSERT_EQ(low.status, 200) << low.body;
    ASSERT_EQ(high.status, 200) << high.body;
    EXPECT_LT(low.body.size(), high.body.size());
    EXPECT_EQ(low.body, get("/" + pk_ + "/photo.jpg?w=400&q=50").body);

    // format=auto negotiates on Accept, and says so in Vary.
    const auto webp = get(cf("width=64,format=auto", "photo.jpg"), {{"Accept", "image/webp"}});
    EXPECT_EQ(webp.header("content-type"), "image/webp");
    EXPECT_NE(webp.header("vary").value_or("").find("Accept"), std::string::npos);
    const auto avif = get(cf("width=64,f=auto", "photo.jpg"), {{"Accept", "image/avif,*/*"}});
    EXPECT_EQ(avif.header("content-type"), "image/avif");
    const auto jpeg = get(cf("width=64,format=auto", "photo.jpg"), {{"Accept", "*/*"}});
    EXPECT_EQ(jpeg.header("content-type"), "image/jpeg");
    const auto baseline = get(cf("width=64,format=baseline-jpeg", "logo.png"));
    EXPECT_EQ(baseline.header("content-type"), "image/jpeg");
}

TEST_F(CloudflareUrlTest, SameCacheEntryAsTheQueryForm) {
    start();
    const auto first = get(cf("width=64", "photo.jpg"));
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(first.header("x-cache"), "MISS");
    const auto query_form = get("/" + pk_ + "/photo.jpg?w=64");
    EXPECT_EQ(query_form.header("x-cache"), "HIT");
    EXPECT_EQ(query_form.body, first.body);
    EXPECT_EQ(query_form.header("etag"), first.header("etag"));
    // And the other way round, with aliases and option order differing.
    EXPECT_EQ(get("/" + pk_ + "/logo.png?height=20&fit=cover&w=30").header("x-cache"), "MISS");
    EXPECT_EQ(get(cf("w=30,fit=cover,h=20", "logo.png")).header("x-cache"), "HIT");
}

TEST_F(CloudflareUrlTest, CustomDomainForm) {
    ASSERT_EQ(cli({"customer", "domains", pk_, "images.brand.test"}).exit_code, 0);
    start();
    const Headers host{{"Host", "images.brand.test"}};
    const auto res = get("/cdn-cgi/image/width=40,format=json/photo.jpg", host);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_NE(res.body.find("\"output\":{\"width\":40"), std::string::npos) << res.body;
    const auto image = get("/cdn-cgi/image/width=40/logo.png", host);
    ASSERT_EQ(image.status, 200) << image.body;
    EXPECT_EQ(decode(image.body).width(), 40);
    // The same path on a host that is nobody's custom domain is no customer's.
    EXPECT_EQ(get("/cdn-cgi/image/width=40/logo.png", {{"Host", "other.example.test"}}).status,
              404);
}

TEST_F(CloudflareUrlTest, SignedUrlCoversThePathAsSent) {
    const auto shown = cli({"customer", "show", pk_});
    const auto secret = json_string(shown.out, "signing_secret");
    ASSERT_EQ(secret.size(), 64u) << shown.err;
    ASSERT_EQ(cli({"customer", "update", pk_, "--settings", R"({"require_signed_urls":true})"})
                  .exit_code,
              0);
    start();
    const auto path = cf("width=50,quality=80", "photo.jpg");
    const auto signed_url = sign_with_cli(path, secret);
    ASSERT_NE(signed_url.find("?s="), std::string::npos) << signed_url;
    const auto ok = get(signed_url);
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(decode(ok.body).width(), 50);

    const auto signature = signed_url.substr(signed_url.find("?s=") + 3);
    // An option changed in the path breaks the signature; so does a missing one.
    const auto tampered = get(cf("width=51,quality=80", "photo.jpg") + "?s=" + signature);
    EXPECT_EQ(tampered.status, 403);
    EXPECT_EQ(error_code(tampered), "invalid_signature");
    EXPECT_EQ(error_code(get(path)), "invalid_signature");

    // `exp` stays in the query string, covered by the signature.
    const auto expiring = sign_with_cli(path + "?exp=4102444800", secret);
    EXPECT_EQ(get(expiring).status, 200);
}

TEST_F(CloudflareUrlTest, UnsupportedOptionIs400NamingIt) {
    start();
    const auto brightness = get(cf("width=50,brightness=0.5", "photo.jpg"));
    EXPECT_EQ(brightness.status, 400);
    EXPECT_EQ(error_code(brightness), "unsupported_parameter");
    EXPECT_NE(brightness.body.find("brightness"), std::string::npos) << brightness.body;

    const auto face = get(cf("fit=cover,gravity=face,w=10,h=10", "photo.jpg"));
    EXPECT_EQ(face.status, 400);
    EXPECT_EQ(error_code(face), "unsupported_parameter");
    EXPECT_NE(face.body.find("gravity=face"), std::string::npos) << face.body;

    const auto unknown = get(cf("width=50,sparkle=1", "photo.jpg"));
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(error_code(unknown), "unknown_parameter");
    EXPECT_NE(unknown.body.find("sparkle"), std::string::npos) << unknown.body;

    // An option in the path and again in the query is given twice.
    EXPECT_EQ(get(cf("width=50", "photo.jpg") + "?w=60").status, 400);
}

TEST_F(CloudflareUrlTest, OnErrorRedirectSendsTheBrokenOriginalsUrl) {
    const auto& jpeg = sample_jpeg();
    put_original(dir_.path(), pk_, "broken/half.jpg", jpeg.substr(0, jpeg.size() / 2));
    start();
    const auto without = get(cf("width=50", "broken/half.jpg"));
    EXPECT_EQ(without.status, 422);
    EXPECT_EQ(error_code(without), "unprocessable_image");

    const auto redirected = get(cf("width=50,onerror=redirect", "broken/half.jpg"));
    EXPECT_EQ(redirected.status, 302) << redirected.body;
    EXPECT_EQ(redirected.header("location"), "/" + pk_ + "/broken/half.jpg");
    EXPECT_EQ(redirected.header("cache-control"), "no-store");
    // The redirect's target serves the original as stored.
    const auto original = get(*redirected.header("location"));
    EXPECT_EQ(original.status, 200);
    EXPECT_EQ(original.body, jpeg.substr(0, jpeg.size() / 2));

    // A working transform is not redirected; a missing original stays 404.
    EXPECT_EQ(get(cf("width=50,onerror=redirect", "photo.jpg")).status, 200);
    EXPECT_EQ(get(cf("width=50,onerror=redirect", "missing.jpg")).status, 404);
}

} // namespace
} // namespace cdn::test
