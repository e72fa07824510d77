#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "storage/circuit_breaker.h"
#include "storage/sigv4.h"

namespace cdn::storage {

/** Where an S3-compatible store is and how to talk to it ([storage] of operations.md). */
struct S3Options {
    /** "http://127.0.0.1:9000", "https://s3.eu-west-3.amazonaws.com", an R2 account URL… */
    std::string endpoint;
    std::string bucket;
    /** Any string the store accepts ("us-east-1", "auto" for R2…): it is only signed. */
    std::string region = "us-east-1";
    std::string access_key;
    std::string secret_key;
    /** True: `{endpoint}/{bucket}/{key}` (MinIO, s3rver); false: `{bucket}.{host}/{key}`. */
    bool path_style = true;
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds timeout{30000};
    /** Attempts of an idempotent request on 5xx, 429, SlowDown or a transport failure. */
    int max_attempts = 3;
    /** The first retry waits about this (core::Backoff), doubling with each further one. */
    std::chrono::milliseconds backoff_base{100};
    /** After this many requests in a row found the store down (no answer, 5xx, 429, after
     *  their retries), requests fail at once for `breaker_cooldown`, instead of each holding a
     *  blocking thread for the timeout; then one request (half open) is let through to see if
     *  it is back, the others still failing fast: its success closes the breaker, its failure
     *  opens it for another cool-down. */
    int breaker_failures = 5;
    std::chrono::milliseconds breaker_cooldown{5000};
    /** put() sends a larger object in parts of this size (S3's minimum part is 5 MiB, which
     *  this is raised to), and aborts the upload if any step fails. */
    std::uint64_t multipart_threshold_bytes = 16'000'000;
    /** get() refuses a larger object while reading it (source_too_large); 0: no cap. */
    std::uint64_t max_object_bytes = 0;
};

/** One request to the bucket; the path is the key (unencoded), empty for the bucket itself. */
struct S3Call {
    std::string method;
    std::string key;
    std::vector<std::pair<std::string, std::string>> query;
    std::string_view body;
    /** The answer's body is refused past this (0: no cap). */
    std::uint64_t max_body = 0;
    /** False for the steps of a multipart upload that a repeat could confuse (create,
     *  complete): those are tried once. */
    bool idempotent = true;
    /** Headers besides those every request has (Host, x-amz-date, x-amz-content-sha256), all
     *  signed: `x-amz-copy-source`... */
    std::vector<std::pair<std::string, std::string>> headers = {};
};

/** A store's answer: status, headers (lowercase names) and body. */
struct S3Answer {
    long status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
};

/**
 * Signed HTTP requests to one bucket over libcurl. Easy handles are pooled and reused, so their
 * connections (TCP and TLS) stay open between requests instead of one per request. Idempotent
 * requests (GET, HEAD, PUT of an object or a part, DELETE) are retried with jittered backoff.
 */
class S3Client {
public:
    explicit S3Client(S3Options options);
    ~S3Client();
    S3Client(const S3Client&) = delete;
    S3Client& operator=(const S3Client&) = delete;

    /** The answer, whatever its status; errors only when no answer came (origin_unavailable)
     *  or the body passed max_body (source_too_large). */
    core::Result<S3Answer> perform(const S3Call& call);

    /** A presigned URL for `method` on `key`, valid `expires` seconds from `now` (Unix). The
     *  request must carry `signed_headers` with exactly these values (besides Host, always
     *  signed), e.g. Content-Type and Content-Length of a PUT. */
    std::string presigned_url(
        std::string_view method, std::string_view key, std::int64_t expires, std::int64_t now,
        const std::vector<std::pair<std::string, std::string>>& signed_headers = {}) const;

    const S3Options& options() const { return options_; }

    /** Totals since start, for /metrics and the benchmarks. */
    struct Stats {
        /** Attempts sent (retries included) and answers refused by the open breaker. */
        std::uint64_t attempts = 0;
        std::uint64_t refused_by_breaker = 0;
        /** New TCP connections curl opened (CURLINFO_NUM_CONNECTS): reuse keeps it low. */
        std::uint64_t connections_opened = 0;
        /** Body bytes received: with the size cap, never far past it for one refused GET. */
        std::uint64_t bytes_received = 0;
        bool breaker_open = false;
    };
    Stats stats() const;

private:
    struct Handle;
    struct Target {
        std::string host;
        std::string path;
        std::string url_prefix;
    };

    Target target(std::string_view key) const;
    core::Result<S3Answer> perform_with_retries(const S3Call& call);
    core::Result<S3Answer> attempt_once(const S3Call& call);
    core::Result<S3Answer> transfer(const S3Call& call, const std::string& url,
                                    const std::vector<std::pair<std::string, std::string>>& headers);
    std::unique_ptr<Handle> take();
    void give_back(std::unique_ptr<Handle> handle);

    S3Options options_;
    sigv4::Credentials credentials_;
    std::string scheme_;
    std::string host_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Handle>> idle_;
    CircuitBreaker breaker_;
    std::atomic<std::uint64_t> attempts_{0};
    std::atomic<std::uint64_t> refused_by_breaker_{0};
    std::atomic<std::uint64_t> connections_opened_{0};
    std::atomic<std::uint64_t> bytes_received_{0};
};

/** Whether an answer is worth another attempt: 5xx, 429, or SlowDown. */
bool is_retryable(const S3Answer& answer);

} // namespace cdn::storage
