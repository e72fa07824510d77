// A server on `[storage] kind = "s3"` when the store fails (delivery.md step 9): s3rver frozen
// (SIGSTOP: connections hang, like a store that stopped answering) or killed (connections
// refused). Cached variants are still served (HIT, or STALE past the customer's TTL), an uncached
// one is 502 origin_unavailable within the configured timeouts, nothing of the failure is cached,
// and the server recovers by itself once s3rver is back on the same port with the same objects.
// Also: a 200 MB original is refused while it is read, and a store that cannot be used stops
// start-up.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "s3rver_process.h"
#include "server_process.h"
#include "storage/s3_blob_store.h"
#include "temp_dir.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;
using std::chrono::seconds;

constexpr std::uint64_t kOriginalCap = 8'000'000;
constexpr std::uint64_t kHugeBytes = 200'000'000;

class S3OutageTest : public ::testing::Test {
protected:
    void SetUp() override {
        fresh_ = create_account(dir_.path(), "fresh@example.com");
        short_ttl_ = create_account(dir_.path(), "short-ttl@example.com");
    }

    /** Short timeouts and cool-down, so that a test of the outage takes seconds. */
    Headers env(const std::string& endpoint, const std::string& bucket,
                const std::string& secret = S3rverProcess::kSecretKey) const {
        return {{"IMAGECDN_STORAGE_KIND", "s3"},
                {"IMAGECDN_STORAGE_ENDPOINT", endpoint},
                {"IMAGECDN_STORAGE_BUCKET", bucket},
                {"IMAGECDN_STORAGE_ACCESS_KEY", S3rverProcess::kAccessKey},
                {"IMAGECDN_STORAGE_SECRET_KEY", secret},
                {"IMAGECDN_STORAGE_CONNECT_TIMEOUT_MS", "1000"},
                {"IMAGECDN_STORAGE_TIMEOUT_MS", "1500"},
                {"IMAGECDN_STORAGE_MAX_ATTEMPTS", "2"},
                {"IMAGECDN_STORAGE_BREAKER_COOLDOWN_MS", "1000"},
                {"IMAGECDN_LIMITS_MAX_ORIGINAL_BYTES", std::to_string(kOriginalCap)}};
    }

    void start_server() {
        server_ = std::make_unique<ServerProcess>(dir_.path(), env(s3_.endpoint(), s3_.bucket()));
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    RawResponse get(const std::string& target) {
        auto res = http_request(server_->port(), "GET", target);
        EXPECT_TRUE(res) << "no answer within 10 s to GET " << target;
        return res ? *res : RawResponse{};
    }

    double metric(const std::string& name) {
        return scrape_metric(server_->port(), name).value_or(-1.0);
    }

    void upload(const Account& account, const std::string& path) {
        const auto res = api_call(server_->port(), "PUT", "/api/v1/images/" + path,
                                  account.api_key, sample_png(),
                                  {{"Content-Type", "application/octet-stream"}});
        ASSERT_EQ(res.status, 201) << res.body;
    }

    /** Warms two variants (one per customer, the second with a 1 s TTL), takes the store down
     *  with `take_down`, checks what the edge answers, brings it back with `bring_back`. */
    void serve_through_outage(const std::function<void()>& take_down,
                              const std::function<void()>& bring_back);

    S3rverProcess s3_;
    TempDir dir_;
    Account fresh_;
    Account short_ttl_;
    std::unique_ptr<ServerProcess> server_;
};

void S3OutageTest::serve_through_outage(const std::function<void()>& take_down,
                                        const std::function<void()>& bring_back) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    upload(fresh_, "a.png");
    upload(short_ttl_, "a.png");
    ASSERT_EQ(api_call(server_->port(), "PATCH", "/api/v1/customer/settings", short_ttl_.api_key,
                       R"({"cache_ttl_seconds":1})")
                  .status,
              200);
    const std::string cached = "/" + fresh_.public_key + "/a.png?w=30";
    const std::string stale = "/" + short_ttl_.public_key + "/a.png?w=30";
    const std::string uncached = "/" + fresh_.public_key + "/a.png?w=31";
    const auto warmed = get(cached);
    ASSERT_EQ(warmed.status, 200) << warmed.body;
    const auto warmed_stale = get(stale);
    ASSERT_EQ(warmed_stale.status, 200) << warmed_stale.body;

    take_down();
    const auto hit = get(cached);
    EXPECT_EQ(hit.status, 200);
    EXPECT_EQ(hit.header("x-cache"), "HIT");
    EXPECT_EQ(hit.body, warmed.body);
    // Past its 1 s TTL the variant is looked for in the store, which fails: served stale.
    RawResponse served;
    EXPECT_TRUE(poll_until(
        [&] { return (served = get(stale)).header("x-cache") == "STALE"; }, seconds(60)))
        << served.status << " " << served.header("x-cache").value_or("") << " " << served.body;
    EXPECT_EQ(served.status, 200);
    EXPECT_EQ(served.body, warmed_stale.body);
    EXPECT_TRUE(served.header("warning").value_or("").starts_with("110 "));
    EXPECT_GE(metric("imagecdn_cache_stale_served_total"), 1.0);

    // No variant to fall back on: 502 within the timeouts (2 tries of 1.5 s, or at once when the
    // breaker is open), well inside the 10 s the test client waits.
    for (int i = 0; i < 2; ++i) {
        const auto started = std::chrono::steady_clock::now();
        const auto failed = get(uncached);
        EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(10));
        EXPECT_EQ(failed.status, 502) << failed.body;
        EXPECT_EQ(error_code(failed), "origin_unavailable");
        EXPECT_EQ(failed.header("cache-control"), "no-store");
        EXPECT_FALSE(failed.header("x-cache"));
    }

    bring_back();
    // No restart of imagecdn: once the breaker's probe finds the store, the same URL is made
    // (a MISS: the 502 was never cached).
    RawResponse recovered;
    EXPECT_TRUE(poll_until([&] { return (recovered = get(uncached)).status == 200; }, seconds(60)))
        << recovered.status << " " << recovered.body;
    EXPECT_EQ(recovered.header("x-cache"), "MISS");
    EXPECT_EQ(get(uncached).header("x-cache"), "HIT");
    const auto remade = get(stale);
    EXPECT_EQ(remade.status, 200);
    EXPECT_NE(remade.header("x-cache"), "STALE");
}

TEST_F(S3OutageTest, AFrozenStoreServesCachedVariantsAnd502sTheRestThenRecovers) {
    serve_through_outage([this] { s3_.freeze(); }, [this] { s3_.thaw(); });
}

TEST_F(S3OutageTest, AKilledStoreServesCachedVariantsAnd502sTheRestThenRecoversOnRestart) {
    serve_through_outage([this] { s3_.kill(); }, [this] { s3_.restart(); });
}

/** Streams `size` bytes (a JPEG signature, then zeros) to `url` (a presigned PUT on the
 *  proxy): the test never holds the object. The proxy's answer status, 0 for none. */
int stream_put(const std::string& url, std::uint64_t size) {
    const auto authority = url.find("://") + 3;
    const auto path = url.find('/', authority);
    const std::string host = url.substr(authority, path - authority);
    RawConnection conn(std::stoi(host.substr(host.find(':') + 1)));
    std::string chunk(1 << 20, '\0');
    chunk[0] = '\xFF';
    chunk[1] = '\xD8';
    bool sent = conn.send("PUT " + url.substr(path) + " HTTP/1.1\r\nHost: " + host +
                          "\r\nContent-Length: " + std::to_string(size) +
                          "\r\nConnection: close\r\n\r\n");
    for (std::uint64_t at = 0; sent && at < size; at += chunk.size()) {
        sent = conn.send(std::string_view(chunk).substr(0, std::min<std::uint64_t>(chunk.size(),
                                                                                   size - at)));
        chunk[0] = chunk[1] = '\0';
    }
    const auto res = sent ? conn.read_response(false, seconds(120)) : std::nullopt;
    return res ? res->status : 0;
}

/** VmHWM of `pid` in bytes: the peak of its resident memory so far. */
std::uint64_t peak_rss(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.starts_with("VmHWM:")) {
            return std::stoull(line.substr(6)) * 1024; // in kB
        }
    }
    return 0;
}

TEST_F(S3OutageTest, AHugeOriginalIsRefusedWhileReadingWithoutBufferingItWhole) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    const auto bucket = *storage::S3BlobStore::create(s3_.client_options());
    const std::string key = fresh_.public_key + "/huge.jpg";
    ASSERT_EQ(stream_put(bucket->presigned_url("PUT", key, 600), kHugeBytes), 200);
    ASSERT_EQ(bucket->head(key)->size, kHugeBytes);

    // With Content-Length: refused before the body. Without (the proxy sends it chunked): as
    // the body passes the cap.
    for (const bool chunked : {false, true}) {
        SCOPED_TRACE(chunked ? "chunked" : "with Content-Length");
        ASSERT_EQ(http_request(s3_.port(), "POST",
                               chunked ? "/_proxy/chunked?on=1" : "/_proxy/chunked?on=0")
                      ->status,
                  204);
        const double before = metric("imagecdn_store_bytes_received_total");
        ASSERT_GE(before, 0.0) << "no imagecdn_store_bytes_received_total in /metrics";
        const auto refused = get("/" + key + (chunked ? "?w=100" : "?w=101"));
        EXPECT_EQ(refused.status, 413) << refused.body;
        EXPECT_EQ(error_code(refused), "source_too_large");
        // At most the cap and one read past it (curl hands the body over in 16 KiB pieces).
        const double received = metric("imagecdn_store_bytes_received_total") - before;
        EXPECT_LE(received, static_cast<double>(kOriginalCap + (1 << 20))) << received;
        RecordProperty(chunked ? "received_chunked" : "received_with_length",
                       std::to_string(static_cast<std::uint64_t>(received)));
    }
    // Had the server held the object whole, its resident peak would be past 200 MB.
    const auto peak = peak_rss(server_->pid());
    EXPECT_LT(peak, kHugeBytes) << peak;
    RecordProperty("server_peak_rss", std::to_string(peak));
}

// operations.md: a store that cannot be used stops start-up with exit 1 and a message naming it.
TEST_F(S3OutageTest, AStoreThatCannotBeUsedStopsStartUp) {
    const std::map<std::string, Headers> broken{
        {"unreachable endpoint",
         env("http://127.0.0.1:" + std::to_string(free_port()), s3_.bucket())},
        {"missing bucket", env(s3_.endpoint(), "no-such-bucket")},
        {"wrong secret", env(s3_.endpoint(), s3_.bucket(), "not-the-secret")},
    };
    for (const auto& [what, environment] : broken) {
        SCOPED_TRACE(what);
        ServerProcess server(dir_.path(), environment);
        EXPECT_FALSE(server.start());
        EXPECT_EQ(server.stop(), 1);
        EXPECT_NE(server.stderr_text().find("the S3 store cannot be used"), std::string::npos)
            << server.stderr_text();
    }
}

} // namespace
} // namespace cdn::test
