// The Images API (api.md "Images") against the real binary on loopback: presigned and direct
// uploads, content checks, plan limits and storage quota, listing and pagination, delete and
// replace with their purges as the edge sees them, and an upload interrupted by kill -9.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fixtures.h"
#include "raw_http.h"
#include "server_process.h"
#include "transform/engine.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;

/** The first JSON integer member `name`; -1 when absent. */
long long json_int(const std::string& json, const std::string& name, std::size_t from = 0) {
    const auto key = "\"" + name + "\":";
    const auto at = json.find(key, from);
    if (at == std::string::npos) {
        return -1;
    }
    const auto start = at + key.size();
    if (start >= json.size() || json[start] < '0' || json[start] > '9') {
        return -1;
    }
    return std::stoll(json.substr(start));
}

/** Every "path" member of a listing, in order. */
std::vector<std::string> listed_paths(const std::string& json) {
    std::vector<std::string> paths;
    const std::string key = "\"path\":\"";
    for (auto at = json.find(key); at != std::string::npos; at = json.find(key, at + 1)) {
        const auto start = at + key.size();
        paths.push_back(json.substr(start, json.find('"', start) - start));
    }
    return paths;
}


struct Dimensions {
    long long width = -1;
    long long height = -1;
    bool operator==(const Dimensions&) const = default;
};

/** Width and height of image bytes, from their header. */
Dimensions dimensions_of(const std::string& bytes) {
    const auto info = transform::probe_source(bytes, transform::Limits{});
    EXPECT_TRUE(info) << info.error().message;
    return info ? Dimensions{info->width, info->height} : Dimensions{};
}

/** The first bytes of a Windows bitmap: magic bytes that are not an accepted format. */
std::string bmp_bytes() {
    std::string bmp = "BM";
    bmp.resize(54 + 4 * 4 * 3, '\0');
    bmp[10] = 54;
    bmp[14] = 40;
    bmp[18] = 4;
    bmp[22] = 4;
    bmp[26] = 1;
    bmp[28] = 24;
    return bmp;
}

class ApiImagesTest : public ::testing::Test {
protected:
    Account add_customer(const std::string& email, const std::string& plan = "free") {
        return create_account(dir_.path(), email, plan);
    }

    void start(Headers env = {}) {
        env_ = std::move(env);
        server_ = std::make_unique<ServerProcess>(dir_.path(), env_);
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    RawResponse request(const std::string& method, const std::string& target,
                        const Headers& headers = {}, const std::string& body = {}) {
        auto res = http_request(server_->port(), method, target, headers, body);
        EXPECT_TRUE(res) << method << " " << target;
        return res ? *res : RawResponse{};
    }

    /** A request to the API as `customer`. */
    RawResponse api(const Account& customer, const std::string& method,
                    const std::string& target, const std::string& body = {},
                    Headers headers = {}) {
        headers.emplace("X-API-Key", customer.api_key);
        if (!body.empty() && !headers.contains("Content-Type") && body.front() == '{') {
            headers.emplace("Content-Type", "application/json");
        }
        return request(method, target, headers, body);
    }

    RawResponse upload_url(const Account& customer, const std::string& path,
                           const std::string& content_type, std::size_t size) {
        return api(customer, "POST", "/api/v1/images/upload-url",
                   R"({"path":")" + path + R"(","content_type":")" + content_type +
                       R"(","size":)" + std::to_string(size) + "}");
    }

    /** The upload URL's target on this server (what follows scheme and authority). */
    std::string target_of(const std::string& url) {
        const auto base = "http://127.0.0.1:" + std::to_string(server_->port());
        EXPECT_EQ(url.rfind(base + "/api/v1/uploads/", 0), 0U) << url;
        return url.substr(std::min(base.size(), url.size()));
    }

    RawResponse put_image(const Account& customer, const std::string& path,
                          const std::string& bytes) {
        return api(customer, "PUT", "/api/v1/images/" + path, bytes,
                   {{"Content-Type", "application/octet-stream"}});
    }

    RawResponse edge(const Account& customer, const std::string& path_and_query) {
        return request("GET", "/" + customer.public_key + "/" + path_and_query);
    }

    TempDir dir_;
    Headers env_;
    std::unique_ptr<ServerProcess> server_;
};

// ---- Presigned upload, listing, delivery, delete ---------------------------------------------

TEST_F(ApiImagesTest, PresignedUploadIsListedServedAndDeletedWithItsVariants) {
    const auto customer = add_customer("shop@example.com");
    start();
    const auto& png = sample_png();
    const auto dims = dimensions_of(png);

    const auto issued = upload_url(customer, "products/logo.png", "image/png", png.size());
    ASSERT_EQ(issued.status, 200) << issued.body;
    EXPECT_EQ(json_string(issued.body, "method"), "PUT");
    EXPECT_EQ(json_string(issued.body, "Content-Type"), "image/png");
    EXPECT_EQ(json_string(issued.body, "expires_at").size(), 20U) << issued.body;
    EXPECT_EQ(issued.header("cache-control"), "no-store");
    const auto target = target_of(json_string(issued.body, "url"));

    // The token is the credential: no API key.
    const auto uploaded = request("PUT", target, {{"Content-Type", "image/png"}}, png);
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
    EXPECT_EQ(json_string(uploaded.body, "path"), "products/logo.png");
    EXPECT_EQ(json_int(uploaded.body, "size"), static_cast<long long>(png.size()));
    EXPECT_EQ(json_int(uploaded.body, "width"), dims.width);
    EXPECT_EQ(json_int(uploaded.body, "height"), dims.height);
    EXPECT_EQ(json_string(uploaded.body, "format"), "png");
    EXPECT_FALSE(json_string(uploaded.body, "etag").empty());

    // Single use.
    const auto reused = request("PUT", target, {{"Content-Type", "image/png"}}, png);
    EXPECT_EQ(reused.status, 403);
    EXPECT_EQ(error_code(reused), "forbidden");

    const auto listed = api(customer, "GET", "/api/v1/images");
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_EQ(listed_paths(listed.body), std::vector<std::string>{"products/logo.png"});
    EXPECT_EQ(json_int(listed.body, "width"), dims.width);
    EXPECT_EQ(json_int(listed.body, "height"), dims.height);
    EXPECT_EQ(json_string(listed.body, "content_type"), "image/png");
    EXPECT_NE(listed.body.find("\"next_cursor\":null"), std::string::npos) << listed.body;

    const auto meta = api(customer, "GET", "/api/v1/images/products/logo.png");
    ASSERT_EQ(meta.status, 200) << meta.body;
    EXPECT_EQ(json_int(meta.body, "width"), dims.width);
    EXPECT_EQ(json_string(meta.body, "etag"), json_string(uploaded.body, "etag"));

    // The edge serves the original byte for byte, and a variant.
    const auto original = edge(customer, "products/logo.png");
    ASSERT_EQ(original.status, 200);
    EXPECT_EQ(original.body, png);
    const auto variant = edge(customer, "products/logo.png?w=50");
    ASSERT_EQ(variant.status, 200) << variant.body;
    EXPECT_EQ(dimensions_of(variant.body).width, 50);
    EXPECT_EQ(edge(customer, "products/logo.png?w=50").header("x-cache"), "HIT");

    const auto deleted = api(customer, "DELETE", "/api/v1/images/products/logo.png");
    EXPECT_EQ(deleted.status, 204) << deleted.body;
    EXPECT_EQ(edge(customer, "products/logo.png").status, 404);
    // The cached variant went with it: not a cached 200.
    const auto gone = edge(customer, "products/logo.png?w=50");
    EXPECT_EQ(gone.status, 404);
    EXPECT_NE(gone.header("x-cache"), "HIT");
    EXPECT_EQ(api(customer, "GET", "/api/v1/images/products/logo.png").status, 404);
    EXPECT_TRUE(listed_paths(api(customer, "GET", "/api/v1/images").body).empty());
    const auto again = api(customer, "DELETE", "/api/v1/images/products/logo.png");
    EXPECT_EQ(again.status, 404);
    EXPECT_EQ(error_code(again), "not_found");
}

TEST_F(ApiImagesTest, PresignedUploadIsBoundToItsTypeAndSize) {
    const auto customer = add_customer("bound@example.com");
    start();
    const auto& png = sample_png();
    const auto& jpeg = sample_jpeg();

    const auto issued = upload_url(customer, "a.png", "image/png", png.size());
    ASSERT_EQ(issued.status, 200) << issued.body;
    const auto target = target_of(json_string(issued.body, "url"));

    const auto wrong_header = request("PUT", target, {{"Content-Type", "image/jpeg"}}, png);
    EXPECT_EQ(wrong_header.status, 415);
    EXPECT_EQ(error_code(wrong_header), "unsupported_media_type");
    const auto no_header = request("PUT", target, {}, png);
    EXPECT_EQ(no_header.status, 415);
    // The declared type must be the content's, too.
    const auto jpeg_prefix = jpeg.substr(0, std::min(jpeg.size(), png.size()));
    const auto wrong_content =
        request("PUT", target, {{"Content-Type", "image/png"}}, jpeg_prefix);
    EXPECT_EQ(wrong_content.status, 415) << wrong_content.body;
    const auto larger = request("PUT", target, {{"Content-Type", "image/png"}}, png + "xx");
    EXPECT_EQ(larger.status, 413);
    EXPECT_EQ(error_code(larger), "payload_too_large");
    const auto unknown = request("PUT", "/api/v1/uploads/ut_" + std::string(40, 'x'),
                                 {{"Content-Type", "image/png"}}, png);
    EXPECT_EQ(unknown.status, 403);
    const auto nonsense =
        request("PUT", "/api/v1/uploads/nonsense", {{"Content-Type", "image/png"}}, png);
    EXPECT_EQ(nonsense.status, 403);
    EXPECT_EQ(edge(customer, "a.png").status, 404);

    // Refused attempts do not use the URL up; the right upload (parameters ignored) does.
    const auto good = request("PUT", target, {{"Content-Type", "Image/PNG; charset=binary"}}, png);
    EXPECT_EQ(good.status, 201) << good.body;
    EXPECT_EQ(request("PUT", target, {{"Content-Type", "image/png"}}, png).status, 403);
    EXPECT_EQ(edge(customer, "a.png").body, png);

    // The request for the URL is checked too.
    const auto pdf = upload_url(customer, "b.pdf", "application/pdf", 100);
    EXPECT_EQ(pdf.status, 415);
    EXPECT_EQ(error_code(pdf), "unsupported_media_type");
    EXPECT_EQ(upload_url(customer, "b.png", "image/png", 0).status, 422);
    EXPECT_EQ(upload_url(customer, "b.png", "image/png", 30'000'000).status, 413);
    const auto missing = api(customer, "POST", "/api/v1/images/upload-url",
                             R"({"path":"b.png","content_type":"image/png"})");
    EXPECT_EQ(missing.status, 422);
    EXPECT_EQ(json_string(missing.body, "field"), "size");
    EXPECT_EQ(api(customer, "POST", "/api/v1/images/upload-url", "not json",
                  {{"Content-Type", "text/plain"}}).status,
              415);
    // Without credentials, nothing.
    EXPECT_EQ(request("POST", "/api/v1/images/upload-url", {{"Content-Type", "application/json"}},
                      R"({"path":"b.png","content_type":"image/png","size":10})")
                  .status,
              401);
    EXPECT_EQ(request("GET", "/api/v1/images").status, 401);
}

// ---- Paths and content ------------------------------------------------------------------------

TEST_F(ApiImagesTest, PathsThatCouldLeaveTheNamespaceAreInvalid) {
    const auto customer = add_customer("paths@example.com");
    start();
    const auto& png = sample_png();
    const std::vector<std::string> targets{
        "a/../b.png", "a/%2E%2E/b.png", "..%2Fb.png", "/abs.png", "%2Fabs.png", "a%5Cb.png",
        "a%00b.png", "a%0Ab.png", "a//b.png", "./a.png", std::string(1025, 'a')};
    for (const auto& path : targets) {
        const auto res = put_image(customer, path, png);
        EXPECT_EQ(res.status, 400) << path << ": " << res.body;
        EXPECT_EQ(error_code(res), "invalid_path") << path;
    }
    // In JSON: a backslash and a NUL written as escapes.
    const std::vector<std::string> declared{"a/../b.png", "/abs.png", "a\\\\b.png",
                                            "a\\u0000b.png", std::string(1025, 'a')};
    for (const auto& path : declared) {
        const auto res = upload_url(customer, path, "image/png", png.size());
        EXPECT_EQ(res.status, 400) << path << ": " << res.body;
        EXPECT_EQ(error_code(res), "invalid_path") << path;
    }
    EXPECT_EQ(api(customer, "GET", "/api/v1/images/a/%2E%2E/b.png").status, 400);
    EXPECT_EQ(api(customer, "DELETE", "/api/v1/images/a%5Cb.png").status, 400);
    // Nothing was written anywhere.
    EXPECT_FALSE(std::filesystem::exists(dir_.fs_path() / "originals" / "b.png"));
    EXPECT_FALSE(std::filesystem::exists(dir_.fs_path() / "originals" / "abs.png"));
    EXPECT_FALSE(std::filesystem::exists("/abs.png"));
    EXPECT_TRUE(listed_paths(api(customer, "GET", "/api/v1/images").body).empty());

    // A segment longer than the file system takes is an invalid path too, not a store failure.
    const auto long_segment = put_image(customer, std::string(300, 's') + ".png", png);
    EXPECT_EQ(long_segment.status, 400) << long_segment.body;
    EXPECT_EQ(error_code(long_segment), "invalid_path");
    // An object cannot also be a folder.
    EXPECT_EQ(put_image(customer, "folder", png).status, 201);
    const auto crossing = put_image(customer, "folder/inside.png", png);
    EXPECT_EQ(crossing.status, 409) << crossing.body;
    EXPECT_EQ(edge(customer, "folder").body, png);
    // A deep, long, but valid path is fine.
    const std::string deep = "a/b/c/" + std::string(200, 'd') + ".png";
    EXPECT_EQ(put_image(customer, deep, png).status, 201);
    EXPECT_EQ(edge(customer, deep).body, png);
}

/** A path of `segments` segments: "d/d/.../x". */
std::string path_of_depth(std::size_t segments) {
    std::string path;
    for (std::size_t i = 1; i < segments; ++i) {
        path += "d/";
    }
    return path + "x";
}

// Each segment is a folder the store walks through: depth is bounded ([storage]
// max_path_segments, 32 by default) like length is.
TEST_F(ApiImagesTest, PathsDeeperThanTheLimitAreRefusedAtUploadAndMissingAtDelivery) {
    const auto customer = add_customer("deep@example.com");
    start();
    const auto& png = sample_png();
    const auto deepest = path_of_depth(512);
    ASSERT_LE(deepest.size(), 1024U);
    for (const auto& path : {deepest, path_of_depth(33)}) {
        const auto put = put_image(customer, path, png);
        EXPECT_EQ(put.status, 400) << put.body;
        EXPECT_EQ(error_code(put), "invalid_path");
        const auto declared = upload_url(customer, path, "image/png", png.size());
        EXPECT_EQ(declared.status, 400) << declared.body;
        EXPECT_EQ(error_code(declared), "invalid_path");
    }
    EXPECT_FALSE(std::filesystem::exists(dir_.fs_path() / "originals" / customer.public_key));
    EXPECT_EQ(put_image(customer, path_of_depth(32), png).status, 201);
    EXPECT_EQ(edge(customer, path_of_depth(32)).body, png);

    // Even an original planted on disk that deep is not served: delivery does not walk there.
    const auto planted = path_of_depth(40);
    put_original(dir_.path(), customer.public_key, planted, png);
    const auto res = edge(customer, planted);
    EXPECT_EQ(res.status, 404) << res.body;
    EXPECT_EQ(error_code(res), "not_found");
}

TEST_F(ApiImagesTest, UploadsAreCheckedByContentNotByName) {
    const auto customer = add_customer("content@example.com");
    start();
    const auto text = put_image(customer, "notes.png", "hello, this is text, not an image\n");
    EXPECT_EQ(text.status, 415);
    EXPECT_EQ(error_code(text), "unsupported_media_type");
    EXPECT_EQ(put_image(customer, "picture.png", bmp_bytes()).status, 415);
    EXPECT_EQ(put_image(customer, "doc.jpg", "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n").status, 415);
    // Right magic bytes, no decodable header behind them.
    EXPECT_EQ(put_image(customer, "fake.png", std::string("\x89PNG\r\n\x1A\n", 8) +
                                                  std::string(200, 'z'))
                  .status,
              415);
    EXPECT_EQ(put_image(customer, "empty.png", "").status, 415);
    EXPECT_TRUE(listed_paths(api(customer, "GET", "/api/v1/images").body).empty());

    // A JPEG named .png is a JPEG.
    const auto jpeg = put_image(customer, "photo.png", sample_jpeg());
    ASSERT_EQ(jpeg.status, 201) << jpeg.body;
    EXPECT_EQ(json_string(jpeg.body, "format"), "jpeg");
    EXPECT_EQ(json_string(jpeg.body, "content_type"), "image/jpeg");
}

// ---- Plan limits --------------------------------------------------------------------------

TEST_F(ApiImagesTest, OriginalsOverThePlanMaximumAreRefused) {
    const auto customer = add_customer("small@example.com");
    const auto& png = sample_png();
    const auto& jpeg = sample_jpeg();
    const auto& small = png.size() < jpeg.size() ? png : jpeg;
    const auto& large = png.size() < jpeg.size() ? jpeg : png;
    ASSERT_LT(small.size(), large.size());
    start({{"IMAGECDN_PLANS_FREE_MAX_ORIGINAL_BYTES", std::to_string(small.size())}});

    const auto refused = put_image(customer, "large", large);
    EXPECT_EQ(refused.status, 413) << refused.body;
    EXPECT_EQ(error_code(refused), "payload_too_large");
    EXPECT_EQ(put_image(customer, "small", small).status, 201);
    EXPECT_EQ(upload_url(customer, "large", "image/png", small.size() + 1).status, 413);
    EXPECT_EQ(upload_url(customer, "small2", "image/png", small.size()).status, 200);
}

TEST_F(ApiImagesTest, StorageQuotaCountsEveryOriginalOnce) {
    const auto customer = add_customer("quota@example.com");
    const auto& png = sample_png();
    // Room for two copies and a bit.
    start({{"IMAGECDN_PLANS_FREE_STORAGE_QUOTA_BYTES", std::to_string(png.size() * 2 + 10)}});

    EXPECT_EQ(put_image(customer, "a.png", png).status, 201);
    EXPECT_EQ(put_image(customer, "b.png", png).status, 201);
    const auto over = put_image(customer, "c.png", png);
    EXPECT_EQ(over.status, 402) << over.body;
    EXPECT_EQ(error_code(over), "storage_quota_exceeded");
    EXPECT_EQ(edge(customer, "c.png").status, 404);
    const auto presigned = upload_url(customer, "c.png", "image/png", png.size());
    EXPECT_EQ(presigned.status, 402);
    EXPECT_EQ(error_code(presigned), "storage_quota_exceeded");
    // Replacing counts the new version instead of the old one.
    const auto replaced = put_image(customer, "a.png", png);
    EXPECT_EQ(replaced.status, 200) << replaced.body;
    // Deleting frees room.
    EXPECT_EQ(api(customer, "DELETE", "/api/v1/images/b.png").status, 204);
    EXPECT_EQ(put_image(customer, "c.png", png).status, 201);
}

// ---- Replace ------------------------------------------------------------------------------

TEST_F(ApiImagesTest, ReplacingAnOriginalPurgesItsVariants) {
    const auto customer = add_customer("replace@example.com");
    start();
    const auto& png = sample_png();
    const auto& jpeg = sample_jpeg();
    const auto png_dims = dimensions_of(png);
    const auto jpeg_dims = dimensions_of(jpeg);

    EXPECT_EQ(put_image(customer, "hero", png).status, 201);
    const auto first = edge(customer, "hero?w=50");
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(first.header("content-type"), "image/png");
    const auto described = edge(customer, "hero?format=json");
    ASSERT_EQ(described.status, 200) << described.body;
    EXPECT_EQ(json_int(described.body, "width"), png_dims.width);
    EXPECT_EQ(edge(customer, "hero?w=50").header("x-cache"), "HIT");

    const auto replaced = put_image(customer, "hero", jpeg);
    ASSERT_EQ(replaced.status, 200) << replaced.body;
    EXPECT_EQ(json_int(replaced.body, "width"), jpeg_dims.width);
    EXPECT_EQ(json_int(replaced.body, "height"), jpeg_dims.height);

    // Same URLs, the new original behind them.
    const auto second = edge(customer, "hero?w=50");
    ASSERT_EQ(second.status, 200);
    EXPECT_EQ(second.header("content-type"), "image/jpeg");
    EXPECT_NE(second.header("x-cache"), "HIT");
    const auto redescribed = edge(customer, "hero?format=json");
    EXPECT_EQ(json_int(redescribed.body, "width"), jpeg_dims.width);
    EXPECT_EQ(json_int(redescribed.body, "height"), jpeg_dims.height);
    EXPECT_EQ(edge(customer, "hero").body, jpeg);
    const auto meta = api(customer, "GET", "/api/v1/images/hero");
    EXPECT_EQ(json_string(meta.body, "format"), "jpeg");
    EXPECT_EQ(json_int(meta.body, "width"), jpeg_dims.width);
    EXPECT_NE(json_string(meta.body, "created_at"), "");
}

TEST_F(ApiImagesTest, AFirstUploadReplacesACachedNotFound) {
    const auto customer = add_customer("early@example.com");
    start();
    EXPECT_EQ(edge(customer, "soon.png").status, 404);
    EXPECT_EQ(put_image(customer, "soon.png", sample_png()).status, 201);
    EXPECT_EQ(edge(customer, "soon.png").status, 200);
}

// ---- Crash safety -------------------------------------------------------------------------

TEST_F(ApiImagesTest, KillDuringAnUploadLeavesThePreviousVersionIntact) {
    const auto customer = add_customer("crash@example.com");
    start();
    const auto& png = sample_png();
    const auto& jpeg = sample_jpeg();
    ASSERT_EQ(put_image(customer, "keep.png", png).status, 201);

    {
        RawConnection conn(server_->port());
        ASSERT_TRUE(conn.connected());
        const auto head = "PUT /api/v1/images/keep.png HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "X-API-Key: " + customer.api_key +
                          "\r\nContent-Type: image/jpeg\r\nExpect: 100-continue\r\n"
                          "Content-Length: " + std::to_string(jpeg.size()) + "\r\n\r\n";
        ASSERT_TRUE(conn.send(head));
        // 100 Continue: the server took the head and is reading this upload's body.
        const auto go_on = conn.read_response();
        ASSERT_TRUE(go_on);
        ASSERT_EQ(go_on->status, 100);
        ASSERT_TRUE(conn.send(std::string_view(jpeg).substr(0, jpeg.size() / 2)));
        ASSERT_EQ(::kill(server_->pid(), SIGKILL), 0);
        EXPECT_EQ(server_->stop(), 128 + SIGKILL);
    }
    start();
    const auto served = edge(customer, "keep.png");
    ASSERT_EQ(served.status, 200);
    EXPECT_EQ(served.body, png);
    const auto listed = api(customer, "GET", "/api/v1/images");
    EXPECT_EQ(listed_paths(listed.body), std::vector<std::string>{"keep.png"});
    EXPECT_EQ(json_int(listed.body, "size"), static_cast<long long>(png.size()));
    // No partial file sits beside it under the key's name.
    EXPECT_EQ(read_file((dir_.fs_path() / "originals" / customer.public_key / "keep.png").string()),
              png);
    // And the path takes a new version afterwards.
    EXPECT_EQ(put_image(customer, "keep.png", jpeg).status, 200);
    EXPECT_EQ(edge(customer, "keep.png").body, jpeg);
}

// ---- Listing ------------------------------------------------------------------------------

TEST_F(ApiImagesTest, PagesListEveryObjectOnceWhileObjectsAreAdded) {
    const auto customer = add_customer("pages@example.com");
    const auto other = add_customer("other@example.com");
    start();
    const auto& png = sample_png();
    std::set<std::string> initial;
    for (int i = 0; i < 25; ++i) {
        const auto path = "set/img-" + std::to_string(100 + i * 2) + ".png";
        ASSERT_EQ(put_image(customer, path, png).status, 201);
        initial.insert(path);
    }
    ASSERT_EQ(put_image(other, "set/img-999.png", png).status, 201);

    std::vector<std::string> seen;
    std::string cursor;
    int added = 0;
    for (int page = 0; page < 20; ++page) {
        auto target = std::string("/api/v1/images?prefix=set%2F&limit=7");
        if (!cursor.empty()) {
            target += "&cursor=" + cursor;
        }
        const auto res = api(customer, "GET", target);
        ASSERT_EQ(res.status, 200) << res.body;
        const auto paths = listed_paths(res.body);
        EXPECT_LE(paths.size(), 7U);
        seen.insert(seen.end(), paths.begin(), paths.end());
        // New objects both before and after the cursor, between pages.
        for (const auto& path : {"set/img-" + std::to_string(101 + added * 2) + ".png",
                                 "set/aaa-" + std::to_string(added) + ".png"}) {
            ASSERT_EQ(put_image(customer, path, png).status, 201);
        }
        ++added;
        cursor = json_string(res.body, "next_cursor");
        if (cursor.empty()) {
            EXPECT_NE(res.body.find("\"next_cursor\":null"), std::string::npos);
            break;
        }
    }
    EXPECT_TRUE(cursor.empty()) << "the listing never ended";
    for (const auto& path : initial) {
        EXPECT_EQ(std::count(seen.begin(), seen.end(), path), 1) << path;
    }
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "set/img-999.png"), 0);

    // The other customer sees only its own.
    EXPECT_EQ(listed_paths(api(other, "GET", "/api/v1/images").body),
              std::vector<std::string>{"set/img-999.png"});
    // Prefix outside: nothing.
    EXPECT_TRUE(listed_paths(api(customer, "GET", "/api/v1/images?prefix=nope/").body).empty());
    // Default page size 100.
    EXPECT_EQ(listed_paths(api(customer, "GET", "/api/v1/images").body).size(),
              std::min<std::size_t>(100, 25 + 2 * static_cast<std::size_t>(added)));

    for (const auto* bad : {"limit=0", "limit=1001", "limit=abc", "limit=-5", "cursor=%%%",
                            "cursor=not*base64"}) {
        const auto res = api(customer, "GET", std::string("/api/v1/images?") + bad);
        EXPECT_EQ(res.status, 400) << bad << ": " << res.body;
    }
    EXPECT_EQ(listed_paths(api(customer, "GET", "/api/v1/images?limit=1000").body).size(),
              25 + 2 * static_cast<std::size_t>(added));
}

} // namespace
} // namespace cdn::test
