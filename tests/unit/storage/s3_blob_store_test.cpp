// What only the S3 store does: its signatures are checked (by the verifying proxy in front of
// s3rver, tests/s3/server.mjs), its presigned URLs work, and its size cap holds while reading.
#include "storage/s3_blob_store.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "poll_until.h"
#include "s3rver_process.h"

namespace cdn::storage {
namespace {

test::S3rverProcess& server() {
    static test::S3rverProcess process("s3-only");
    return process;
}

/** A store on `on` (the binary's shared server by default), retrying without delay. */
S3Options options(const test::S3rverProcess& on = server()) {
    auto options = on.client_options();
    options.backoff_base = std::chrono::milliseconds(1);
    return options;
}

std::unique_ptr<S3BlobStore> store(S3Options with) {
    auto created = S3BlobStore::create(std::move(with));
    EXPECT_TRUE(created);
    return std::move(*created);
}

std::size_t append(char* data, std::size_t size, std::size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

/** A plain request to `url` (no signing of ours): status and body. */
std::pair<long, std::string> fetch(const std::string& url, const char* method = "GET") {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    std::string body;
    long status = 0;
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &append);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 10000L);
    if (curl_easy_perform(curl.get()) == CURLE_OK) {
        curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    }
    return {status, body};
}

TEST(S3BlobStore, AWrongSecretIsRefusedBecauseTheSignatureIsChecked) {
    ASSERT_TRUE(store(options())->put("pk_1/signed.jpg", "x"));
    S3Options wrong = options();
    wrong.secret_key = "not-the-secret";
    auto bad = store(wrong);
    for (const auto& failed : {bad->get("pk_1/signed.jpg").error(),
                               bad->put("pk_1/other.jpg", "y").error(), bad->check().error()}) {
        EXPECT_EQ(failed.code, core::Errc::OriginUnavailable);
        EXPECT_NE(failed.detail.find("403"), std::string::npos) << failed.detail;
    }
    EXPECT_NE(bad->get("pk_1/signed.jpg").error().detail.find("SignatureDoesNotMatch"),
              std::string::npos);
    EXPECT_EQ(store(options())->head("pk_1/other.jpg").error().code, core::Errc::NotFound);
}

TEST(S3BlobStore, PresignedGetUrlsAreAcceptedAndBoundToTheirKey) {
    auto s3 = store(options());
    ASSERT_TRUE(s3->put("pk_1/a b+c é.jpg", "presigned bytes"));
    const std::string url = s3->presigned_url("GET", "pk_1/a b+c é.jpg", 900);
    EXPECT_EQ(fetch(url), std::make_pair(200L, std::string("presigned bytes")));

    ASSERT_TRUE(s3->put("pk_1/other.jpg", "other"));
    std::string moved = url;
    moved.replace(moved.find("a%20b%2Bc%20%C3%A9.jpg"), 22, "other.jpg");
    EXPECT_EQ(fetch(moved).first, 403);
    std::string tampered = url;
    tampered.back() = tampered.back() == '0' ? '1' : '0';
    EXPECT_EQ(fetch(tampered).first, 403);
}

TEST(S3BlobStore, GetRefusesAnObjectOverTheCapWhileReading) {
    S3Options capped = options();
    capped.max_object_bytes = 1000;
    auto s3 = store(capped);
    ASSERT_TRUE(s3->put("pk_1/big.jpg", std::string(5000, 'b')));
    ASSERT_TRUE(s3->put("pk_1/small.jpg", std::string(1000, 's')));
    const auto big = s3->get("pk_1/big.jpg");
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().code, core::Errc::SourceTooLarge);
    EXPECT_EQ(s3->get("pk_1/small.jpg")->bytes.size(), 1000u);
    EXPECT_EQ(s3->head("pk_1/big.jpg")->size, 5000u) << "head is not capped";

    // Without a Content-Length to refuse up front, the body is refused as it passes the cap.
    fetch(server().endpoint() + "/_proxy/chunked?on=1", "POST");
    const auto streamed = s3->get("pk_1/big.jpg");
    const auto small = s3->get("pk_1/small.jpg");
    fetch(server().endpoint() + "/_proxy/chunked?on=0", "POST");
    ASSERT_FALSE(streamed);
    EXPECT_EQ(streamed.error().code, core::Errc::SourceTooLarge);
    ASSERT_TRUE(small) << small.error().detail;
    EXPECT_EQ(small->bytes.size(), 1000u);
}

TEST(S3BlobStore, AStoppedStoreIsUnavailableAfterBoundedRetries) {
    test::S3rverProcess gone("gone");
    auto s3 = store(options(gone));
    gone.stop();
    const auto got = s3->get("pk_1/x.jpg");
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().code, core::Errc::OriginUnavailable);
    EXPECT_EQ(s3->check().error().code, core::Errc::OriginUnavailable);
}

// s3rver keeps keys as files in folders; a DELETE removing the folder a PUT had just made ended
// its process (tests/s3/server.mjs, serializeWrites), and every later call of a test run failed.
TEST(S3BlobStore, WritesAndDeletesInOneFolderAtOnceLeaveTheServerRunning) {
    test::S3rverProcess racing("racing");
    auto writer = store(options(racing));
    auto deleter = store(options(racing));
    constexpr int kRounds = 150;
    std::thread deletes([&] {
        for (int i = 0; i < kRounds; ++i) {
            (void)deleter->put("pk_1/variants/a/old.webp", "old");
            (void)deleter->remove("pk_1/variants/a/old.webp");
        }
    });
    for (int i = 0; i < kRounds; ++i) {
        const auto key = "pk_1/variants/a/new-" + std::to_string(i) + ".webp";
        (void)writer->put(key, "new");
        (void)writer->remove(key);
    }
    deletes.join();
    ASSERT_TRUE(racing.running());
    ASSERT_TRUE(writer->put("pk_1/variants/a/last.webp", "last"));
    const auto last = writer->get("pk_1/variants/a/last.webp");
    ASSERT_TRUE(last) << last.error().detail;
    EXPECT_EQ(last->bytes, "last");
}

TEST(S3BlobStore, AHungStoreTimesOutAndRecovers) {
    test::S3rverProcess hung("hung");
    S3Options to_hung = options(hung);
    to_hung.timeout = std::chrono::milliseconds(300);
    to_hung.max_attempts = 2;
    auto s3 = store(to_hung);
    ASSERT_TRUE(s3->put("pk_1/x.jpg", "x"));
    hung.freeze();
    const auto got = s3->get("pk_1/x.jpg");
    hung.thaw();
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().code, core::Errc::OriginUnavailable);
    EXPECT_NE(got.error().detail.find("timed out"), std::string::npos) << got.error().detail;
    const auto again = s3->get("pk_1/x.jpg");
    ASSERT_TRUE(again) << again.error().detail;
    EXPECT_EQ(again->bytes, "x");
}

TEST(S3BlobStore, ABreakerFailsFastWhileTheStoreIsDownAndClosesWhenItIsBack) {
    test::S3rverProcess hung("breaker");
    S3Options to_hung = options(hung);
    to_hung.timeout = std::chrono::milliseconds(300);
    to_hung.max_attempts = 1;
    to_hung.breaker_failures = 2;
    to_hung.breaker_cooldown = std::chrono::milliseconds(200);
    auto s3 = store(to_hung);
    ASSERT_TRUE(s3->put("pk_1/x.jpg", "x"));
    hung.freeze();
    for (int i = 0; i < 2; ++i) {
        EXPECT_NE(s3->get("pk_1/x.jpg").error().detail.find("timed out"), std::string::npos);
    }
    const auto fast = s3->get("pk_1/x.jpg");
    ASSERT_FALSE(fast);
    EXPECT_EQ(fast.error().code, core::Errc::OriginUnavailable);
    EXPECT_NE(fast.error().detail.find("circuit open"), std::string::npos) << fast.error().detail;
    hung.thaw();
    EXPECT_TRUE(test::poll_until([&] { return s3->get("pk_1/x.jpg").has_value(); },
                                 std::chrono::seconds(10), std::chrono::milliseconds(50)));
}

// `{bucket}.s3.localhost`: curl resolves *.localhost to loopback, s3rver reads the bucket from
// the Host, and the proxy checks that the Host signed is the bucket's.
TEST(S3BlobStore, VirtualHostAddressingWorksThroughTheVerifyingProxy) {
    S3Options virtual_host = options();
    virtual_host.path_style = false;
    virtual_host.endpoint.replace(virtual_host.endpoint.find("127.0.0.1"), 9, "s3.localhost");
    auto s3 = store(virtual_host);
    const auto stored = s3->put("pk_vhost/virtual host.jpg", "vhost");
    ASSERT_TRUE(stored) << stored.error().detail;
    EXPECT_EQ(store(options())->get("pk_vhost/virtual host.jpg")->bytes, "vhost");
    EXPECT_EQ(s3->list("pk_vhost/", "", 10)->items.at(0).key, "pk_vhost/virtual host.jpg");
    const std::string url = s3->presigned_url("GET", "pk_vhost/virtual host.jpg", 60);
    EXPECT_EQ(url.rfind("http://s3-only.s3.localhost:", 0), 0u) << url;
    EXPECT_EQ(fetch(url), std::make_pair(200L, std::string("vhost")));
}

/** The verifying proxy's counter `name` (tests/s3/server.mjs, /_proxy/stats). */
int proxy_count(const std::string& name) {
    const std::string stats = fetch(server().endpoint() + "/_proxy/stats").second;
    const auto at = stats.find("\"" + name + "\":");
    return at == std::string::npos ? -1 : std::stoi(stats.substr(at + name.size() + 3));
}

/** The proxy lets `skip` requests through, then answers the next `count` with `status`. */
void fail_next_requests(int count, int status, int skip = 0) {
    fetch(server().endpoint() + "/_proxy/fail?count=" + std::to_string(count) +
              "&status=" + std::to_string(status) + "&skip=" + std::to_string(skip),
          "POST");
}

TEST(S3BlobStore, RequestsReuseTheirConnections) {
    auto s3 = store(options());
    ASSERT_TRUE(s3->put("pk_reuse/x.jpg", "x"));
    const int connections = proxy_count("connections");
    const int requests = proxy_count("requests");
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(s3->get("pk_reuse/x.jpg"));
        ASSERT_TRUE(s3->head("pk_reuse/x.jpg"));
    }
    EXPECT_EQ(proxy_count("requests") - requests, 100);
    // The three stats requests after the first open one connection each: 100 requests of the
    // store opened none (without reuse, this would be 103).
    EXPECT_LE(proxy_count("connections") - connections, 3);
}

TEST(S3BlobStore, ServerErrorsAndSlowDownAreRetriedAFewTimes) {
    S3Options three = options();
    three.max_attempts = 3;
    auto s3 = store(three);
    fail_next_requests(2, 503);
    const auto stored = s3->put("pk_retry/x.jpg", "retried");
    ASSERT_TRUE(stored) << stored.error().detail;
    fail_next_requests(2, 500);
    EXPECT_EQ(s3->get("pk_retry/x.jpg")->bytes, "retried");

    fail_next_requests(3, 503);
    const auto requests = proxy_count("requests");
    const auto failed = s3->get("pk_retry/x.jpg");
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, core::Errc::OriginUnavailable);
    EXPECT_NE(failed.error().detail.find("SlowDown"), std::string::npos) << failed.error().detail;
    EXPECT_EQ(proxy_count("requests") - requests, 3) << "bounded: max_attempts";
}

/** Parts of 5 MiB, S3's smallest: an object of 11 MiB goes in three. */
S3Options multipart_options() {
    S3Options multipart = options();
    multipart.multipart_threshold_bytes = 5 * 1024 * 1024;
    return multipart;
}

std::string patterned_bytes(std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<char>(i * 131 % 251);
    }
    return bytes;
}

TEST(S3BlobStore, LargeObjectsGoInPartsAndRoundTrip) {
    auto s3 = store(multipart_options());
    const std::string bytes = patterned_bytes(11 * 1024 * 1024);
    const auto requests = proxy_count("requests");
    const auto stored = s3->put("pk_multi/big.jpg", bytes);
    ASSERT_TRUE(stored) << stored.error().detail;
    EXPECT_EQ(proxy_count("requests") - requests, 5) << "create, three parts, complete";
    EXPECT_EQ(stored->size, bytes.size());
    const auto object = s3->get("pk_multi/big.jpg");
    ASSERT_TRUE(object) << object.error().detail;
    EXPECT_TRUE(object->bytes == bytes);
    EXPECT_EQ(s3->head("pk_multi/big.jpg")->size, bytes.size());
}

TEST(S3BlobStore, AFailedMultipartUploadIsAbortedAndLeavesTheOldObject) {
    auto s3 = store(multipart_options());
    ASSERT_TRUE(s3->put("pk_multi/kept.jpg", "old"));
    fail_next_requests(1, 400, 2); // create and part 1 pass, part 2 is refused
    const auto requests = proxy_count("requests");
    const auto failed = s3->put("pk_multi/kept.jpg", patterned_bytes(11 * 1024 * 1024));
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, core::Errc::OriginUnavailable);
    EXPECT_EQ(proxy_count("requests") - requests, 4) << "create, part 1, part 2, abort";
    EXPECT_EQ(s3->get("pk_multi/kept.jpg")->bytes, "old");
}

} // namespace
} // namespace cdn::storage
