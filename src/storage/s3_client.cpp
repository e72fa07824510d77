#include "storage/s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "core/backoff.h"
#include "core/hash.h"
#include "core/strings.h"

namespace cdn::storage {
namespace {

using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

/** curl_global_init is not thread-safe and must run once before any handle is made. */
void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

/** What the callbacks of one transfer fill. */
struct Transfer {
    S3Answer answer;
    std::uint64_t max_body = 0;
    bool too_large = false;
    std::string_view upload;
};

bool over_cap(Transfer& transfer, std::uint64_t size) {
    transfer.too_large = transfer.max_body != 0 && size > transfer.max_body;
    return transfer.too_large;
}

std::size_t collect_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& transfer = *static_cast<Transfer*>(user);
    // Refused while reading: a huge object costs at most the cap in memory.
    if (over_cap(transfer, transfer.answer.body.size() + size * count)) {
        return 0; // curl then fails the transfer with CURLE_WRITE_ERROR
    }
    transfer.answer.body.append(data, size * count);
    return size * count;
}

std::size_t collect_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& transfer = *static_cast<Transfer*>(user);
    std::string_view line(data, size * count);
    while (line.ends_with('\r') || line.ends_with('\n')) {
        line.remove_suffix(1); // curl hands over each header line with its CRLF
    }
    const auto colon = line.find(':');
    if (line.starts_with("HTTP/")) {
        transfer.answer.headers.clear(); // a new response (after 100 Continue or a retry)
    } else if (colon != std::string_view::npos) {
        auto value = core::trim(line.substr(colon + 1));
        transfer.answer.headers[core::to_lower(line.substr(0, colon))] = std::string(value);
        if (core::iequals(line.substr(0, colon), "content-length") &&
            over_cap(transfer, std::strtoull(std::string(value).c_str(), nullptr, 10))) {
            return 0; // refused before a byte of the body is read
        }
    }
    return size * count;
}

std::size_t send_body(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto& upload = static_cast<Transfer*>(user)->upload;
    const std::size_t n = std::min(size * count, upload.size());
    std::copy_n(upload.data(), n, buffer);
    upload.remove_prefix(n);
    return n;
}

void set_method(CURL* curl, const S3Call& call, Transfer& state) {
    if (call.method == "HEAD") {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (call.method == "PUT") {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, &send_body);
        curl_easy_setopt(curl, CURLOPT_READDATA, &state);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                         static_cast<curl_off_t>(call.body.size()));
    } else if (call.method == "POST") {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(call.body.size()));
    } else if (call.method != "GET") {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    }
}

HeaderList header_list(const std::vector<std::pair<std::string, std::string>>& headers) {
    HeaderList list(nullptr, &curl_slist_free_all);
    for (const auto& [name, value] : headers) {
        list.reset(curl_slist_append(list.release(), (name + ": " + value).c_str()));
    }
    // No "Expect: 100-continue" round trip before a body.
    list.reset(curl_slist_append(list.release(), "Expect:"));
    return list;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

core::Error transport_error(const S3Call& call, CURLcode rc, const char* text) {
    return core::make_error(core::Errc::OriginUnavailable, "the image store is unavailable",
                            "s3: " + call.method + ' ' + call.key + ": " +
                                (*text != '\0' ? text : curl_easy_strerror(rc)));
}

using Counter = std::atomic<std::uint64_t>;

/** Adds one finished transfer to the client's totals (S3Client::Stats). */
void count_transfer(CURL* curl, Counter& attempts, Counter& connections, Counter& bytes) {
    long opened = 0;
    curl_off_t received = 0;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &opened);
    curl_easy_getinfo(curl, CURLINFO_SIZE_DOWNLOAD_T, &received);
    attempts.fetch_add(1, std::memory_order_relaxed);
    connections.fetch_add(static_cast<std::uint64_t>(opened), std::memory_order_relaxed);
    bytes.fetch_add(static_cast<std::uint64_t>(received), std::memory_order_relaxed);
}

} // namespace

struct S3Client::Handle {
    CURL* curl = curl_easy_init();
    ~Handle() { curl_easy_cleanup(curl); }
};

S3Client::S3Client(S3Options options)
    : options_(std::move(options)),
      credentials_{options_.access_key, options_.secret_key, options_.region},
      breaker_(options_.breaker_failures, options_.breaker_cooldown) {
    init_curl_once();
    const auto scheme_end = options_.endpoint.find("://");
    scheme_ = options_.endpoint.substr(0, scheme_end);
    host_ = options_.endpoint.substr(scheme_end == std::string::npos ? 0 : scheme_end + 3);
    while (!host_.empty() && host_.back() == '/') {
        host_.pop_back();
    }
}

S3Client::~S3Client() = default;

S3Client::Target S3Client::target(std::string_view key) const {
    Target out;
    if (options_.path_style) {
        out.host = host_;
        out.path = '/' + options_.bucket + (key.empty() ? "" : "/" + std::string(key));
    } else {
        out.host = options_.bucket + '.' + host_;
        out.path = '/' + std::string(key);
    }
    out.url_prefix = scheme_ + "://" + out.host + sigv4::uri_encode(out.path, true);
    return out;
}

std::unique_ptr<S3Client::Handle> S3Client::take() {
    std::lock_guard lock(mutex_);
    if (idle_.empty()) {
        return std::make_unique<Handle>();
    }
    auto handle = std::move(idle_.back());
    idle_.pop_back();
    curl_easy_reset(handle->curl); // keeps the handle's open connections
    return handle;
}

void S3Client::give_back(std::unique_ptr<Handle> handle) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(handle));
}

core::Result<S3Answer> S3Client::perform(const S3Call& call) {
    if (!breaker_.allow(steady_ms())) {
        refused_by_breaker_.fetch_add(1, std::memory_order_relaxed);
        return core::make_error(core::Errc::OriginUnavailable, "the image store is unavailable",
                                "s3: " + call.method + ' ' + call.key + ": circuit open after " +
                                    std::to_string(options_.breaker_failures) +
                                    " failures in a row");
    }
    auto answer = perform_with_retries(call);
    breaker_.record(answer ? is_retryable(*answer)
                           : answer.error().code == core::Errc::OriginUnavailable,
                    steady_ms());
    return answer;
}

core::Result<S3Answer> S3Client::perform_with_retries(const S3Call& call) {
    // Capped where max_attempts would hardly reach: the cap only guards a large setting.
    core::Backoff backoff(options_.backoff_base, options_.backoff_base * 64);
    for (int attempt = 1;; ++attempt) {
        auto answer = attempt_once(call);
        const bool retry = answer ? is_retryable(*answer)
                                  : answer.error().code == core::Errc::OriginUnavailable;
        if (!retry || !call.idempotent || attempt >= options_.max_attempts) {
            return answer;
        }
        std::this_thread::sleep_for(backoff.next());
    }
}

core::Result<S3Answer> S3Client::attempt_once(const S3Call& call) {
    const Target where = target(call.key);
    const std::string date = sigv4::amz_date(unix_now());
    const std::string body_hash = core::sha256_hex(call.body);
    sigv4::Request request{call.method, where.path, call.query,
                           {{"host", where.host},
                            {"x-amz-content-sha256", body_hash},
                            {"x-amz-date", date}},
                           body_hash};
    request.headers.insert(request.headers.end(), call.headers.begin(), call.headers.end());
    std::vector<std::pair<std::string, std::string>> headers(request.headers.begin() + 1,
                                                             request.headers.end());
    headers.emplace_back("Authorization", sigv4::authorization(credentials_, request, date));
    const auto query = sigv4::canonical_query(call.query);
    return transfer(call, where.url_prefix + (query.empty() ? "" : "?" + query), headers);
}

core::Result<S3Answer> S3Client::transfer(
    const S3Call& call, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers) {
    auto handle = take();
    CURL* curl = handle->curl;
    const HeaderList list = header_list(headers);
    Transfer state{.max_body = call.max_body, .upload = call.body};
    char error_text[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list.get());
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &collect_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &state);
    set_method(curl, call, state);
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &state.answer.status);
    count_transfer(curl, attempts_, connections_opened_, bytes_received_);
    give_back(std::move(handle));
    if (state.too_large) {
        return core::make_error(core::Errc::SourceTooLarge, "the original is too large",
                                "s3: " + call.key + " is over " + std::to_string(call.max_body) +
                                    " bytes");
    }
    if (rc != CURLE_OK) {
        return transport_error(call, rc, error_text);
    }
    return std::move(state.answer);
}

std::string S3Client::presigned_url(
    std::string_view method, std::string_view key, std::int64_t expires, std::int64_t now,
    const std::vector<std::pair<std::string, std::string>>& signed_headers) const {
    const Target where = target(key);
    sigv4::Request request{std::string(method), where.path, {}, {{"host", where.host}}, ""};
    request.headers.insert(request.headers.end(), signed_headers.begin(), signed_headers.end());
    return where.url_prefix + '?' +
           sigv4::presigned_query(credentials_, request, sigv4::amz_date(now), expires);
}

S3Client::Stats S3Client::stats() const {
    return Stats{
        .attempts = attempts_.load(std::memory_order_relaxed),
        .refused_by_breaker = refused_by_breaker_.load(std::memory_order_relaxed),
        .connections_opened = connections_opened_.load(std::memory_order_relaxed),
        .bytes_received = bytes_received_.load(std::memory_order_relaxed),
        .breaker_open = breaker_.open(),
    };
}

bool is_retryable(const S3Answer& answer) {
    return answer.status >= 500 || answer.status == 429 ||
           answer.body.find("<Code>SlowDown</Code>") != std::string::npos;
}

} // namespace cdn::storage
