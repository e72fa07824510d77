#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "fixtures.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

class DeliveryTest : public ::testing::Test {
protected:
    void SetUp() override {
        public_key_ = create_customer(dir_.path(), "owner@example.com");
        ASSERT_FALSE(public_key_.empty());
        // The name says PNG; the content is a JPEG: the type must come from the content.
        put_original(dir_.path(), public_key_, "products/photo.png", sample_jpeg());
        put_original(dir_.path(), public_key_, "logo.png", sample_png());
        server_ = std::make_unique<ServerProcess>(dir_.path());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    std::optional<RawResponse> get(const std::string& target,
                                   const std::map<std::string, std::string>& headers = {}) {
        return http_request(server_->port(), "GET", target, headers);
    }

    std::string url(const std::string& path) const { return "/" + public_key_ + "/" + path; }

    double metric(const std::string& name_and_labels) {
        const auto res = http_request(server_->port(), "GET", "/metrics",
                                      {{"Authorization", std::string("Bearer ") +
                                                             ServerProcess::INTERNAL_SECRET}});
        EXPECT_TRUE(res && res->status == 200);
        const auto at = res->body.find(name_and_labels + " ");
        return at == std::string::npos ? 0.0
                                       : std::stod(res->body.substr(at + name_and_labels.size() + 1));
    }

    TempDir dir_;
    std::string public_key_;
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(DeliveryTest, OriginalIsServedByteIdenticalWithTypeFromContent) {
    const auto res = get(url("products/photo.png"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, sample_jpeg());
    EXPECT_EQ(res->header("content-type"), "image/jpeg");
    EXPECT_EQ(res->header("content-length"), std::to_string(sample_jpeg().size()));
    EXPECT_EQ(res->header("cache-control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(res->header("x-content-type-options"), "nosniff");
    EXPECT_TRUE(res->header("last-modified"));
    EXPECT_TRUE(res->header("x-request-id"));
    const auto etag = res->header("etag");
    ASSERT_TRUE(etag);
    EXPECT_EQ(etag->front(), '"');

    const auto png = get(url("logo.png"));
    ASSERT_TRUE(png);
    EXPECT_EQ(png->header("content-type"), "image/png");
    EXPECT_EQ(png->body, sample_png());
}

TEST_F(DeliveryTest, MissThenHit) {
    const auto first = get(url("logo.png"));
    const auto second = get(url("logo.png"));
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->header("x-cache"), "MISS");
    EXPECT_EQ(second->header("x-cache"), "HIT");
    EXPECT_EQ(first->body, second->body);
    EXPECT_EQ(first->header("etag"), second->header("etag"));
    // `v` busts the cache: a new key.
    const auto versioned = get(url("logo.png") + "?v=2");
    ASSERT_TRUE(versioned);
    EXPECT_EQ(versioned->header("x-cache"), "MISS");
    EXPECT_GE(metric("imagecdn_cache_lookups_total{tier=\"memory\",result=\"hit\"}"), 1.0);
}

TEST_F(DeliveryTest, MatchingEtagAnswers304WithoutBody) {
    const auto first = get(url("logo.png"));
    ASSERT_TRUE(first && first->header("etag"));
    const auto again = get(url("logo.png"), {{"If-None-Match", *first->header("etag")}});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 304);
    EXPECT_TRUE(again->body.empty());
    EXPECT_EQ(again->header("etag"), first->header("etag"));
    const auto other = get(url("logo.png"), {{"If-None-Match", "\"something-else\""}});
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, 200);
}

TEST_F(DeliveryTest, HeadHasHeadersAndNoBody) {
    RawConnection conn(server_->port());
    ASSERT_TRUE(conn.send("HEAD " + url("logo.png") + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto head = conn.read_response(true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->header("content-length"), std::to_string(sample_png().size()));
    EXPECT_EQ(head->header("content-type"), "image/png");
    // The next response on the same connection starts right away: no body bytes were sent.
    ASSERT_TRUE(conn.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto next = conn.read_response();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, R"({"status":"ok"})");
}

TEST_F(DeliveryTest, PipelinedRequestsAreAnsweredInOrder) {
    RawConnection conn(server_->port());
    ASSERT_TRUE(conn.send("GET " + url("logo.png") + " HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET " + url("missing.png") + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto a = conn.read_response();
    const auto b = conn.read_response();
    const auto c = conn.read_response();
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(a->body, sample_png());
    EXPECT_EQ(b->body, R"({"status":"ok"})");
    EXPECT_EQ(c->status, 404);
}

TEST_F(DeliveryTest, UnknownCustomerAndMissingObject) {
    const auto unknown = get("/pk_000000000000000000000000/logo.png");
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->status, 404);
    EXPECT_NE(unknown->body.find(R"("code":"unknown_customer")"), std::string::npos);
    EXPECT_EQ(unknown->header("content-type"), "application/json");

    const auto missing = get(url("nope.png"));
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_NE(missing->body.find(R"("code":"not_found")"), std::string::npos);
    EXPECT_EQ(missing->header("cache-control"), "public, max-age=60");

    const auto traversal = get(url("a/../../etc/passwd"));
    ASSERT_TRUE(traversal);
    EXPECT_EQ(traversal->status, 400);
    EXPECT_NE(traversal->body.find(R"("code":"invalid_path")"), std::string::npos);
}

TEST_F(DeliveryTest, NonImageOriginalIsUnprocessable) {
    put_original(dir_.path(), public_key_, "fake.jpg", "this is a text file, not a JPEG\n");
    const auto res = get(url("fake.jpg"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 422);
    EXPECT_NE(res->body.find(R"("code":"unprocessable_image")"), std::string::npos);
    EXPECT_EQ(res->header("cache-control"), "no-store");
}

TEST_F(DeliveryTest, SvgOriginalIsRasterisedToPng) {
    put_original(dir_.path(), public_key_, "icon.svg",
                 R"(<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">)"
                 R"(<rect width="40" height="30" fill="red"/></svg>)");
    const auto res = get(url("icon.svg"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->header("content-type"), "image/png");
    EXPECT_TRUE(res->body.starts_with("\x89PNG"));
}

TEST_F(DeliveryTest, HugeUrlIs414) {
    const auto res = get(url(std::string(9000, 'a') + ".png"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 414);
}

TEST_F(DeliveryTest, ReadyzAndMetricsNeedNoDatabaseWorkAndTheSecret) {
    const auto ready = get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200);
    const auto unauthorised = get("/metrics");
    ASSERT_TRUE(unauthorised);
    EXPECT_EQ(unauthorised->status, 401);
    get(url("logo.png"));
    EXPECT_GE(metric("imagecdn_http_responses_total{status=\"200\"}"), 2.0);
}

TEST_F(DeliveryTest, ClientRequestIdIsEchoed) {
    const auto res = get(url("logo.png"), {{"X-Request-Id", "abc-123"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->header("x-request-id"), "abc-123");
    const auto insane = get(url("logo.png"), {{"X-Request-Id", "bad id with spaces"}});
    ASSERT_TRUE(insane);
    EXPECT_NE(insane->header("x-request-id"), "bad id with spaces");
}

} // namespace
} // namespace cdn::test
