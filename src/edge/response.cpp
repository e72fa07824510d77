#include "edge/response.h"

#include <algorithm>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "core/strings.h"

namespace cdn::edge {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    for (auto candidate : core::split(if_none_match, ',')) {
        candidate = core::trim(candidate);
        if (candidate.starts_with("W/")) {
            candidate.remove_prefix(2);
        }
        if (candidate == "*" || candidate == etag) {
            return true;
        }
    }
    return false;
}

/** Last-Modified of a variant read back from disk, formatted once per thread for a run of hits
 *  on variants of one original (strftime is the dearest part of the header block). */
const std::string& last_modified(std::int64_t unix_seconds) {
    thread_local std::int64_t formatted_for = -1;
    thread_local std::string value;
    if (unix_seconds != formatted_for) {
        value = core::http_date(unix_seconds);
        formatted_for = unix_seconds;
    }
    return value;
}

/** The headers of a 200 answer that depend only on the variant. Cache-Control and CORS
 *  follow the customer's settings, which may change while the variant is cached. */
Headers variant_headers(const cache::CachedVariant& v) {
    return {
        {"Content-Type", v.content_type},
        {"ETag", v.etag},
        {"Last-Modified", last_modified(v.last_modified)},
        {"X-Content-Type-Options", "nosniff"},
        {"Timing-Allow-Origin", "*"},
    };
}

/** Headers of an error kept in the cache (a 404 for a minute). */
void set_cached_error_headers(http::Response& res, const cache::CachedVariant& v) {
    res.status = v.status;
    res.set_header("Content-Type", v.content_type);
    res.set_header("Cache-Control", "public, max-age=60");
    res.set_header("X-Content-Type-Options", "nosniff");
}

/** A 304: the 200's headers but Content-Type, and no body. */
void set_not_modified(http::Response& res, const cache::CachedVariant& v) {
    res.status = 304;
    for (auto& header : variant_headers(v)) {
        if (header.first != "Content-Type") {
            res.headers.push_back(std::move(header));
        }
    }
}

/** A 200's own headers: the variant's prebuilt block when it has one (a hit formats nothing);
 *  a variant read back from disk has none, and gets one built for this answer. */
void set_variant_headers(http::Response& res, const cache::VariantPtr& variant) {
    if (variant->response_headers.empty()) {
        res.prebuilt_headers = std::make_shared<const std::string>(variant_header_block(*variant));
    } else {
        res.prebuilt_headers =
            std::shared_ptr<const std::string>(variant, &variant->response_headers);
    }
}

/** The variant's body: its bytes in memory, or (a disk-tier hit) its file, sent with
 *  sendfile(2). */
void set_body(http::Response& res, const cache::VariantPtr& variant) {
    if (const auto& file = variant->body_file) {
        res.file_body = http::FileBody{
            .owner = file, .fd = file->fd.get(), .offset = file->offset, .size = file->size};
    } else {
        res.body = std::shared_ptr<const std::string>(variant, &variant->body);
    }
}

std::string retry_after_seconds(std::chrono::milliseconds wait) {
    return std::to_string(std::max<std::int64_t>(1, (wait.count() + 999) / 1000));
}

} // namespace

std::string variant_header_block(const cache::CachedVariant& variant) {
    std::string block;
    block.reserve(256);
    for (const auto& [name, value] : variant_headers(variant)) {
        block += name;
        block += ": ";
        block += value;
        block += "\r\n";
    }
    return block;
}

http::Response variant_response(const http::Request& request, const cache::VariantPtr& variant,
                                VariantAnswer answer) {
    http::Response res;
    res.headers.reserve(4); // X-Cache, Cache-Control, Access-Control-Allow-Origin, Vary
    if (variant->status != 200) {
        set_cached_error_headers(res, *variant);
        set_body(res, variant);
    }
    res.cache_status = cache::header_value(answer.cache_status);
    res.set_header("X-Cache", std::string(res.cache_status));
    if (answer.cache_status == cache::Status::Stale) {
        res.set_header("Warning", R"(110 - "Response is Stale")"); // RFC 7234 §5.5.1
    }
    if (!answer.vary.empty()) {
        res.set_header("Vary", std::move(answer.vary));
    }
    if (!answer.accept_ch.empty()) {
        res.set_header("Accept-CH", std::move(answer.accept_ch));
    }
    if (variant->status == 200) {
        const auto if_none_match = request.header("if-none-match");
        if (if_none_match && etag_matches(*if_none_match, variant->etag)) {
            set_not_modified(res, *variant);
        } else {
            set_variant_headers(res, variant);
            set_body(res, variant);
        }
        res.set_header("Cache-Control", std::move(answer.cache_control));
        if (!answer.allow_origin.empty()) {
            res.set_header("Access-Control-Allow-Origin", std::move(answer.allow_origin));
        }
    }
    if (!answer.server_timing.empty()) {
        res.set_header("Server-Timing", std::move(answer.server_timing));
    }
    return res;
}

http::Response refusal_response(const core::Error& error, const Refusal& refusal) {
    auto res = http::Response::error(error);
    if (error.code == core::Errc::RateLimited) {
        res.set_header("Retry-After", retry_after_seconds(refusal.retry_after));
    } else if (error.code == core::Errc::Busy) {
        res.set_header("Retry-After", "1");
    }
    if (!refusal.vary.empty()) {
        res.set_header("Vary", refusal.vary);
    }
    return res;
}

http::Response redirect_response(std::string location) {
    auto res = http::Response::text(302, "text/plain", "");
    res.set_header("Location", std::move(location));
    res.set_header("Cache-Control", "no-store");
    return res;
}

http::Response method_not_allowed() {
    auto res = http::Response::error(
        core::make_error(core::Errc::MethodNotAllowed, "only GET and HEAD are allowed here"));
    res.set_header("Allow", "GET, HEAD");
    return res;
}

} // namespace cdn::edge
