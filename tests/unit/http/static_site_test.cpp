#include "http/static_site.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/strings.h"
#include "temp_dir.h"

namespace cdn::http {
namespace {

namespace fs = std::filesystem;

const std::string INDEX_HTML = "<!doctype html><title>app</title>";
const std::string APP_JS = "console.log('app');";

void write(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
}

/** The header's value, or "" when absent; fails when it appears twice. */
std::string header(const Response& res, std::string_view name) {
    std::string value;
    int seen = 0;
    for (const auto& [n, v] : res.headers) {
        if (core::iequals(n, name)) {
            value = v;
            ++seen;
        }
    }
    EXPECT_LE(seen, 1) << name;
    return value;
}

std::string body(const Response& res) { return res.body ? *res.body : std::string(); }

class StaticSiteTest : public ::testing::Test {
protected:
    void SetUp() override {
        write(dir.fs_path() / "index.html", INDEX_HTML);
        write(dir.fs_path() / "assets" / "app-abc123.js", APP_JS);
        write(dir.fs_path() / "assets" / "app-abc123.js.gz", "GZIPPED");
        write(dir.fs_path() / "assets" / "app-abc123.js.br", "BROTLI");
        write(dir.fs_path() / "assets" / "style-def456.css", "body{}");
        write(dir.fs_path() / "favicon.svg", "<svg/>");
        write(dir.fs_path() / "data.weird", "x");
        write(dir.fs_path() / ".vite" / "manifest.json", "{}");
        write(dir.fs_path() / "assets" / ".hidden", "h");
        site = StaticSite::load({
            .url_prefix = "/app/",
            .directory = dir.path(),
            .headers = {{"X-Frame-Options", "DENY"}, {"Content-Security-Policy", "default-src 'self'"}},
        });
    }

    Response get(std::string_view path, std::vector<Header> headers = {},
                 std::string_view method = "GET") const {
        Request req;
        req.method = method;
        const auto q = path.find('?');
        req.target = path;
        req.path = path.substr(0, q);
        req.query = q == std::string_view::npos ? std::string_view() : path.substr(q + 1);
        req.headers = std::move(headers);
        return site->handle(req);
    }

    test::TempDir dir;
    std::shared_ptr<const StaticSite> site;
};

TEST_F(StaticSiteTest, LoadsEveryFileIntoMemory) {
    EXPECT_TRUE(site->ready());
    EXPECT_TRUE(site->problem().empty()) << site->problem();
    // .gz and .br are encodings of app-abc123.js, not files of their own.
    EXPECT_EQ(site->file_count(), 5u);
    // Hidden files are not served.
    EXPECT_EQ(body(get("/app/.vite/manifest.json")), INDEX_HTML);
    EXPECT_EQ(get("/app/assets/.hidden").status, 404u);
    // Served from memory: removing the directory changes nothing.
    fs::remove_all(dir.fs_path() / "assets");
    EXPECT_EQ(body(get("/app/assets/style-def456.css")), "body{}");
}

TEST_F(StaticSiteTest, IndexIsRevalidatedEveryTime) {
    const auto res = get("/app/");
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(body(res), INDEX_HTML);
    EXPECT_EQ(header(res, "Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(header(res, "Cache-Control"), "no-cache");
    EXPECT_FALSE(header(res, "ETag").empty());
    EXPECT_EQ(body(get("/app/index.html")), INDEX_HTML);
}

TEST_F(StaticSiteTest, HashedAssetsAreImmutable) {
    const auto res = get("/app/assets/style-def456.css");
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(header(res, "Content-Type"), "text/css; charset=utf-8");
    EXPECT_EQ(header(res, "Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(header(get("/app/assets/app-abc123.js"), "Content-Type"),
              "text/javascript; charset=utf-8");
    EXPECT_EQ(header(get("/app/favicon.svg"), "Content-Type"), "image/svg+xml");
    EXPECT_EQ(header(get("/app/favicon.svg"), "Cache-Control"), "no-cache");
    EXPECT_EQ(header(get("/app/data.weird"), "Content-Type"), "application/octet-stream");
}

TEST_F(StaticSiteTest, DeepLinksAnswerIndex) {
    for (const char* path : {"/app/images", "/app/settings/presets?x=1", "/app/a/b/c.html",
                             "/app/assets", "/app/nested/"}) {
        const auto res = get(path);
        EXPECT_EQ(res.status, 200u) << path;
        EXPECT_EQ(body(res), INDEX_HTML) << path;
        EXPECT_EQ(header(res, "Cache-Control"), "no-cache") << path;
    }
}

TEST_F(StaticSiteTest, MissingAssetIs404NotHtml) {
    const auto res = get("/app/assets/app-old999.js");
    EXPECT_EQ(res.status, 404u);
    EXPECT_EQ(header(res, "Content-Type"), "application/json");
    EXPECT_NE(body(res).find("\"not_found\""), std::string::npos);
}

TEST_F(StaticSiteTest, TraversalIsRefused) {
    write(dir.fs_path().parent_path() / (dir.fs_path().filename().string() + "-secret"), "secret");
    for (const char* path : {"/app/../etc/passwd", "/app/%2e%2e/%2e%2e/etc/passwd",
                             "/app/assets/..%2f..%2findex.html", "/app/a/./b", "/app/..",
                             "/app/assets%5c..%5cindex.html", "/app/%00", "/app/%zz"}) {
        const auto res = get(path);
        EXPECT_EQ(res.status, 400u) << path;
        EXPECT_EQ(body(res).find("secret"), std::string::npos) << path;
        EXPECT_EQ(header(res, "X-Frame-Options"), "DENY") << path;
    }
    fs::remove(dir.fs_path().parent_path() / (dir.fs_path().filename().string() + "-secret"));
}

TEST_F(StaticSiteTest, PrecompressedWhenAccepted) {
    auto res = get("/app/assets/app-abc123.js", {{"Accept-Encoding", "gzip, deflate, br"}});
    EXPECT_EQ(body(res), "BROTLI");
    EXPECT_EQ(header(res, "Content-Encoding"), "br");
    EXPECT_EQ(header(res, "Vary"), "Accept-Encoding");
    EXPECT_EQ(header(res, "Content-Type"), "text/javascript; charset=utf-8");

    res = get("/app/assets/app-abc123.js", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(body(res), "GZIPPED");
    EXPECT_EQ(header(res, "Content-Encoding"), "gzip");

    res = get("/app/assets/app-abc123.js", {{"Accept-Encoding", "br;q=0, gzip;q=0.5"}});
    EXPECT_EQ(body(res), "GZIPPED");

    res = get("/app/assets/app-abc123.js", {{"Accept-Encoding", "gzip;q=0, br;q=0"}});
    EXPECT_EQ(body(res), APP_JS);
    EXPECT_EQ(header(res, "Content-Encoding"), "");

    res = get("/app/assets/app-abc123.js");
    EXPECT_EQ(body(res), APP_JS);
    EXPECT_EQ(header(res, "Vary"), "Accept-Encoding");

    res = get("/app/assets/app-abc123.js", {{"Accept-Encoding", "*"}});
    EXPECT_EQ(body(res), "BROTLI");

    // The compressed files are not addressable on their own.
    EXPECT_EQ(get("/app/assets/app-abc123.js.gz").status, 404u);
    // No compressed version: no Vary.
    EXPECT_EQ(header(get("/app/favicon.svg", {{"Accept-Encoding", "gzip"}}), "Vary"), "");
}

TEST_F(StaticSiteTest, ConditionalGetAnswers304) {
    const auto first = get("/app/assets/style-def456.css");
    const auto etag = header(first, "ETag");
    ASSERT_FALSE(etag.empty());
    auto res = get("/app/assets/style-def456.css", {{"If-None-Match", etag}});
    EXPECT_EQ(res.status, 304u);
    EXPECT_EQ(res.body_size(), 0u);
    EXPECT_EQ(header(res, "ETag"), etag);
    EXPECT_EQ(header(res, "Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(header(res, "X-Frame-Options"), "DENY");
    res = get("/app/assets/style-def456.css", {{"If-None-Match", "\"other\", W/" + etag}});
    EXPECT_EQ(res.status, 304u);
    res = get("/app/assets/style-def456.css", {{"If-None-Match", "\"other\""}});
    EXPECT_EQ(res.status, 200u);
    // Each encoding has its own ETag.
    const auto br = get("/app/assets/app-abc123.js", {{"Accept-Encoding", "br"}});
    const auto plain = get("/app/assets/app-abc123.js");
    EXPECT_NE(header(br, "ETag"), header(plain, "ETag"));
}

TEST_F(StaticSiteTest, HeadHasTheHeadersAndTheLength) {
    const auto res = get("/app/assets/style-def456.css", {}, "HEAD");
    EXPECT_EQ(res.status, 200u);
    // The server sends Content-Length from the body and leaves the body out for HEAD.
    EXPECT_EQ(res.body_size(), 6u);
    EXPECT_EQ(header(res, "Content-Type"), "text/css; charset=utf-8");
}

TEST_F(StaticSiteTest, OtherMethodsAre405) {
    const auto res = get("/app/", {}, "POST");
    EXPECT_EQ(res.status, 405u);
    EXPECT_EQ(header(res, "Allow"), "GET, HEAD");
    EXPECT_EQ(header(res, "Content-Security-Policy"), "default-src 'self'");
}

TEST_F(StaticSiteTest, PrefixWithoutSlashRedirects) {
    auto res = get("/app");
    EXPECT_EQ(res.status, 308u);
    EXPECT_EQ(header(res, "Location"), "/app/");
    res = get("/app?checkout=success");
    EXPECT_EQ(header(res, "Location"), "/app/?checkout=success");
}

TEST_F(StaticSiteTest, SecurityHeadersOnEveryAnswer) {
    for (const char* path : {"/app/", "/app/deep/link", "/app/assets/style-def456.css",
                             "/app/assets/missing.js", "/app"}) {
        const auto res = get(path);
        EXPECT_EQ(header(res, "X-Frame-Options"), "DENY") << path;
        EXPECT_EQ(header(res, "Content-Security-Policy"), "default-src 'self'") << path;
    }
}

TEST(StaticSiteMissing, WithoutIndexEverythingIs503) {
    test::TempDir dir;
    write(dir.fs_path() / "assets" / "a.js", "x");
    const auto site = StaticSite::load({.url_prefix = "/app/", .directory = dir.path(),
                                        .headers = {{"X-Frame-Options", "DENY"}}});
    EXPECT_FALSE(site->ready());
    EXPECT_NE(site->problem().find("index.html"), std::string::npos);
    Request req;
    req.method = "GET";
    req.path = "/app/";
    const auto res = site->handle(req);
    EXPECT_EQ(res.status, 503u);
    EXPECT_NE(body(res).find("\"unavailable\""), std::string::npos);
    EXPECT_EQ(header(res, "X-Frame-Options"), "DENY");

    const auto none = StaticSite::load({.url_prefix = "/app/", .directory = dir.path() + "/nope"});
    EXPECT_FALSE(none->ready());
    EXPECT_NE(none->problem().find("no directory"), std::string::npos);
}

TEST(StaticSiteMount, RoutesThePrefixAndTheBareName) {
    test::TempDir dir;
    write(dir.fs_path() / "index.html", INDEX_HTML);
    Router router;
    StaticSite::mount(router, StaticSite::load({.url_prefix = "/app/", .directory = dir.path()}));
    EXPECT_NE(router.match("/app/"), nullptr);
    EXPECT_NE(router.match("/app/x/y"), nullptr);
    EXPECT_NE(router.match("/app"), nullptr);
    EXPECT_EQ(router.match("/apple"), nullptr);
}

} // namespace
} // namespace cdn::http
