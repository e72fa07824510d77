#include "storage/s3_blob_store.h"

#include <algorithm>

#include "storage/key.h"
#include "storage/s3_xml.h"

namespace cdn::storage {
namespace {

/** S3 answers at most this many keys a page. */
constexpr std::size_t kMaxKeysPerPage = 1000;
/** S3's smallest part (but the last) of a multipart upload. */
constexpr std::uint64_t kMinPartBytes = 5 * 1024 * 1024;

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/** An answer that is not 2xx as an error: not_found for 404, else origin_unavailable. */
core::Error answer_error(const S3Call& call, const S3Answer& answer) {
    const std::string detail = "s3: " + call.method + ' ' + call.key + ": " +
                               std::to_string(answer.status) + ' ' +
                               parse_error_summary(answer.body);
    if (answer.status == 404) {
        return core::make_error(core::Errc::NotFound, "no such original", detail);
    }
    return core::make_error(core::Errc::OriginUnavailable, "the image store is unavailable",
                            detail);
}

std::string header(const S3Answer& answer, const std::string& name) {
    const auto found = answer.headers.find(name);
    return found == answer.headers.end() ? std::string() : found->second;
}

ObjectInfo info_of(std::string_view key, const S3Answer& answer) {
    ObjectInfo info;
    info.key = std::string(key);
    info.size = std::strtoull(header(answer, "content-length").c_str(), nullptr, 10);
    info.last_modified = parse_http_date(header(answer, "last-modified"));
    info.etag = unquote_etag(header(answer, "etag"));
    info.content_type = header(answer, "content-type");
    return info;
}

/** A prefix is valid when it is empty or its folder part is a valid key ("pk/", "pk/a/b"). */
core::Result<void> validate_prefix(std::string_view prefix) {
    const auto slash = prefix.rfind('/');
    if (slash == std::string_view::npos) {
        return prefix.empty() ? core::Result<void>() : validate_key(prefix);
    }
    return validate_key(prefix.substr(0, slash));
}

} // namespace

core::Result<std::unique_ptr<S3BlobStore>> S3BlobStore::create(S3Options options) {
    if (options.endpoint.empty() || options.bucket.empty()) {
        return core::make_error(core::Errc::InvalidPath, "the S3 store needs an endpoint and a "
                                                         "bucket");
    }
    return std::unique_ptr<S3BlobStore>(new S3BlobStore(std::move(options)));
}

core::Result<Object> S3BlobStore::get(std::string_view key) {
    CDN_TRY_VOID(validate_key(key));
    const S3Call call{"GET", std::string(key), {}, {}, client_.options().max_object_bytes};
    CDN_TRY(answer, client_.perform(call));
    if (answer.status != 200) {
        return answer_error(call, answer);
    }
    Object object{info_of(key, answer), std::move(answer.body)};
    object.info.size = object.bytes.size();
    return object;
}

core::Result<ObjectInfo> S3BlobStore::head(std::string_view key) {
    CDN_TRY_VOID(validate_key(key));
    const S3Call call{"HEAD", std::string(key), {}, {}, 0};
    CDN_TRY(answer, client_.perform(call));
    if (answer.status != 200) {
        return answer_error(call, answer);
    }
    return info_of(key, answer);
}

core::Result<ObjectInfo> S3BlobStore::put(std::string_view key, std::string_view bytes) {
    CDN_TRY_VOID(validate_key(key));
    if (bytes.size() > client_.options().multipart_threshold_bytes) {
        return put_multipart(key, bytes);
    }
    const S3Call call{"PUT", std::string(key), {}, bytes, 0};
    CDN_TRY(answer, client_.perform(call));
    if (answer.status != 200) {
        return answer_error(call, answer);
    }
    return ObjectInfo{std::string(key), bytes.size(), unix_now(),
                      unquote_etag(header(answer, "etag"))};
}

core::Result<ObjectInfo> S3BlobStore::put_multipart(std::string_view key,
                                                    std::string_view bytes) {
    const S3Call create{"POST", std::string(key), {{"uploads", ""}}, {}, 0, false};
    CDN_TRY(created, client_.perform(create));
    const std::string upload_id = parse_upload_id(created.body);
    if (created.status != 200 || upload_id.empty()) {
        return answer_error(create, created);
    }
    auto completed = upload_parts(create.key, upload_id, bytes);
    if (!completed) {
        // Nothing half-written stays: the parts go, and the old object was never touched.
        const S3Call abort{"DELETE", create.key, {{"uploadId", upload_id}}, {}, 0};
        static_cast<void>(client_.perform(abort));
        return completed.error();
    }
    return ObjectInfo{create.key, bytes.size(), unix_now(),
                      unquote_etag(header(*completed, "etag"))};
}

core::Result<S3Answer> S3BlobStore::upload_parts(const std::string& key,
                                                 const std::string& upload_id,
                                                 std::string_view bytes) {
    const std::size_t part_bytes =
        std::max(client_.options().multipart_threshold_bytes, kMinPartBytes);
    std::vector<std::string> etags;
    for (std::size_t at = 0; at < bytes.size(); at += part_bytes) {
        const S3Call part{"PUT", key,
                          {{"partNumber", std::to_string(etags.size() + 1)},
                           {"uploadId", upload_id}},
                          bytes.substr(at, part_bytes), 0};
        CDN_TRY(answer, client_.perform(part));
        if (answer.status != 200) {
            return answer_error(part, answer);
        }
        etags.push_back(header(answer, "etag"));
    }
    const std::string document = complete_multipart_xml(etags);
    const S3Call complete{"POST", key, {{"uploadId", upload_id}}, document, 0, false};
    CDN_TRY(answer, client_.perform(complete));
    // S3 may answer 200 with an <Error> document when completing fails late.
    if (answer.status != 200 || !parse_error_summary(answer.body).empty()) {
        return answer_error(complete, answer);
    }
    if (!answer.headers.contains("etag")) {
        answer.headers["etag"] = parse_complete_etag(answer.body);
    }
    return answer;
}

core::Result<ObjectInfo> S3BlobStore::move(std::string_view from, std::string_view to) {
    CDN_TRY_VOID(validate_key(from));
    CDN_TRY_VOID(validate_key(to));
    // The source names the bucket and the key, URL-encoded (S3 decodes it once).
    const std::string source = sigv4::uri_encode('/' + client_.options().bucket + '/' +
                                                     std::string(from),
                                                 true);
    S3Call copy{"PUT", std::string(to), {}, {}, 0};
    copy.headers = {{"x-amz-copy-source", source}};
    CDN_TRY(answer, client_.perform(copy));
    // A copy may fail after its 200, with an <Error> document as the body.
    if (answer.status != 200 || !parse_error_summary(answer.body).empty()) {
        return answer_error(copy, answer);
    }
    CDN_TRY(moved, head(to));
    // `to` holds the object now, whatever happens to `from`: a copy left behind by a failed
    // delete is only garbage (the caller's sweep of abandoned uploads removes it).
    static_cast<void>(remove(from));
    return moved;
}

std::optional<PresignedPut> S3BlobStore::presign_put(std::string_view key,
                                                     std::string_view content_type,
                                                     std::uint64_t size,
                                                     std::int64_t expires_seconds) const {
    if (!validate_key(key)) {
        return std::nullopt;
    }
    const std::string type(content_type);
    const std::string url =
        client_.presigned_url("PUT", key, expires_seconds, unix_now(),
                              {{"content-length", std::to_string(size)}, {"content-type", type}});
    return PresignedPut{url, {{"Content-Type", type}}};
}

core::Result<void> S3BlobStore::remove(std::string_view key) {
    CDN_TRY(existing, head(key));
    const S3Call call{"DELETE", existing.key, {}, {}, 0};
    CDN_TRY(answer, client_.perform(call));
    if (answer.status != 204 && answer.status != 200) {
        return answer_error(call, answer);
    }
    return {};
}

core::Result<ListPage> S3BlobStore::list(std::string_view prefix, std::string_view after,
                                         std::size_t limit) {
    CDN_TRY_VOID(validate_prefix(prefix));
    const std::size_t keys = std::clamp<std::size_t>(limit, 1, kMaxKeysPerPage);
    S3Call call{"GET", "", {{"list-type", "2"}, {"max-keys", std::to_string(keys)}}, {}, 0};
    call.query.emplace_back("prefix", std::string(prefix));
    if (!after.empty()) {
        call.query.emplace_back("start-after", std::string(after));
    }
    CDN_TRY(answer, client_.perform(call));
    if (answer.status != 200) {
        return answer_error(call, answer);
    }
    CDN_TRY(result, parse_list_result(answer.body));
    ListPage page{std::move(result.items), std::nullopt};
    if (limit == 0) {
        page.items.clear();
    }
    if ((result.truncated || page.items.size() > limit) && !page.items.empty()) {
        page.items.resize(std::min(page.items.size(), limit));
        page.next_after = page.items.back().key;
    }
    return page;
}

core::Result<void> S3BlobStore::check() {
    const S3Call call{"HEAD", "", {}, {}, 0};
    CDN_TRY(answer, client_.perform(call));
    if (answer.status != 200) {
        return answer_error(call, answer);
    }
    return {};
}

void S3BlobStore::write_metrics(core::MetricWriter& writer) const {
    const auto stats = client_.stats();
    const auto counter = [&writer](std::string_view name, std::string_view help, auto value) {
        writer.single(name, "counter", help, static_cast<double>(value));
    };
    counter("imagecdn_store_attempts_total", "Requests sent to the S3 store, retries included.",
            stats.attempts);
    counter("imagecdn_store_breaker_refused_total",
            "S3 requests failed at once by the open circuit breaker.", stats.refused_by_breaker);
    counter("imagecdn_store_connections_opened_total",
            "New connections opened to the S3 store (the rest reused one).",
            stats.connections_opened);
    counter("imagecdn_store_bytes_received_total", "Body bytes received from the S3 store.",
            stats.bytes_received);
    writer.single("imagecdn_store_breaker_open", "gauge",
                  "1 while the S3 store's circuit breaker is open or probing.",
                  stats.breaker_open ? 1.0 : 0.0);
}

std::string S3BlobStore::presigned_url(std::string_view method, std::string_view key,
                                       std::int64_t expires) const {
    return client_.presigned_url(method, key, expires, unix_now());
}

} // namespace cdn::storage
