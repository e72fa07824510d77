#include "security/url_signing.h"

#include <algorithm>
#include <vector>


#include "core/strings.h"
#include "security/hmac.h"
#include "security/keys.h"

namespace cdn::security {
namespace {

/** One `name=value` parameter of a raw query, with where it starts in the
 * query. */
struct RawParam {
    std::string_view name;
    std::string_view value;
    std::size_t begin = 0;
};

std::vector<RawParam> split_query(std::string_view query) {
    std::vector<RawParam> params;
    std::size_t begin = 0;
    while (begin <= query.size()) {
        const auto end = std::min(query.find('&', begin), query.size());
        const auto part = query.substr(begin, end - begin);
        const auto eq = part.find('=');
        RawParam param;
        param.name = part.substr(0, eq);
        param.value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
        param.begin = begin;
        params.push_back(param);
        begin = end + 1;
    }
    return params;
}

bool is_signature_name(std::string_view name) { return name == "s" || name == "sig"; }

// RFC 3986 allows these unencoded (plus '%' for escapes). Anything else is percent-encoded by HTTP
// clients before sending, which would change the bytes the server verifies.
bool is_url_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view("-._~!$&'()*+,;=:/?#[]@%").find(c) != std::string_view::npos;
}

core::Error invalid_url(std::string message) {
    return core::make_error(core::Errc::InvalidParameter, std::move(message));
}

/** A URL to sign: only path and query are signed; origin and fragment are kept around them. */
struct UrlParts {
    std::string_view origin;
    std::string_view path;
    std::string_view query;
    std::string_view fragment;
};

/** Takes "scheme://authority" off an absolute http(s) URL and returns it ("" for a path);
 *  what remains must be a path (or a path-absolute "/x" for a relative URL). */
core::Result<std::string_view> take_origin(std::string_view& url) {
    const auto lower = core::to_lower(url.substr(0, 8));
    const std::size_t scheme_length = lower.starts_with("http://")    ? 7
                                      : lower.starts_with("https://") ? 8
                                                                      : 0;
    if (scheme_length == 0) {
        // "//host/x" would be read by a browser as another host, not as a path.
        if (url.empty() || url.front() != '/' || url.starts_with("//")) {
            return invalid_url("url must be a path starting with / or an absolute http(s) URL");
        }
        return std::string_view{};
    }
    const auto path_start = std::min(url.find_first_of("/?", scheme_length), url.size());
    if (path_start == scheme_length) {
        return invalid_url("url has no host");
    }
    const auto origin = url.substr(0, path_start);
    url = url.substr(path_start);
    if (url.empty() || url.front() != '/') {
        return invalid_url("url has no path");
    }
    return origin;
}

core::Result<UrlParts> split_url(std::string_view url) {
    UrlParts parts;
    const auto hash = url.find('#');
    parts.fragment = hash == std::string_view::npos ? std::string_view{} : url.substr(hash);
    url = url.substr(0, url.size() - parts.fragment.size());
    CDN_TRY(origin, take_origin(url));
    parts.origin = origin;
    const auto question = url.find('?');
    parts.path = url.substr(0, question);
    parts.query =
        question == std::string_view::npos ? std::string_view{} : url.substr(question + 1);
    return parts;
}

bool has_signature_parameter(std::string_view query) {
    if (query.empty()) {
        return false;
    }
    const auto params = split_query(query);
    return std::any_of(params.begin(), params.end(),
                       [](const RawParam& param) { return is_signature_name(param.name); });
}

/** The last `s` or `sig` parameter and how many there are. */
struct SignatureParam {
    const RawParam* last = nullptr;
    std::size_t count = 0;
};

SignatureParam find_signature(const std::vector<RawParam>& params) {
    SignatureParam found;
    for (const auto& param : params) {
        if (is_signature_name(param.name)) {
            ++found.count;
            found.last = &param;
        }
    }
    return found;
}

/** Where `s` is, in the order a client fixing its URL needs to hear about it. */
core::Result<void> check_signature_position(const std::vector<RawParam>& params,
                                            const SignatureParam& signature) {
    using core::Errc;
    if (signature.count == 0) {
        return core::make_error(Errc::InvalidSignature, "this URL must be signed");
    }
    if (signature.count > 1) {
        return core::make_error(Errc::InvalidSignature,
                                "the signature parameter s must appear only once");
    }
    if (signature.last != &params.back()) {
        return core::make_error(Errc::InvalidSignature,
                                "the signature parameter s must be the last parameter");
    }
    return {};
}

/** Every `exp` (covered by the signature, so checked after it) must be later than now. */
core::Result<void> check_expiry(const std::vector<RawParam>& params, std::int64_t now_unix) {
    for (const auto& param : params) {
        if (param.name != "exp") {
            continue;
        }
        const auto exp = core::parse_int(param.value);
        if (!exp) {
            return core::make_error(core::Errc::SignatureExpired,
                                    "exp must be an expiry time in unix seconds");
        }
        if (*exp <= now_unix) {
            return core::make_error(core::Errc::SignatureExpired, "this signed URL has expired");
        }
    }
    return {};
}

} // namespace

std::string sign_path_and_query(std::string_view path, std::string_view query_without_s,
                                std::string_view secret) {
    std::string message(path);
    if (!query_without_s.empty()) {
        message += '?';
        message += query_without_s;
    }
    const auto digest = hmac_sha256(secret, message);
    return core::to_hex(
        std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

core::Result<std::string> sign_url(std::string_view url, std::string_view secret) {
    if (secret.empty()) {
        return invalid_url("the signing secret must not be empty");
    }
    if (!std::all_of(url.begin(), url.end(), is_url_char)) {
        return invalid_url("url contains a character that must be percent-encoded");
    }
    CDN_TRY(parts, split_url(url));
    if (has_signature_parameter(parts.query)) {
        return invalid_url("url already has a signature parameter (s or sig)");
    }
    std::string signed_url(parts.origin);
    signed_url += parts.path;
    signed_url += '?';
    if (!parts.query.empty()) {
        signed_url += parts.query;
        signed_url += '&';
    }
    signed_url += "s=";
    signed_url += sign_path_and_query(parts.path, parts.query, secret);
    signed_url += parts.fragment;
    return signed_url;
}

core::Result<void> verify_signature(const SignatureCheck& check) {
    const auto params = split_query(check.raw_query);
    const auto signature = find_signature(params);
    CDN_TRY_VOID(check_signature_position(params, signature));
    if (check.secret.empty()) {
        // Fail closed: with an empty key anyone could compute the signature.
        return core::make_error(core::Errc::InvalidSignature, "invalid signature",
                                "no URL-signing secret configured for this customer");
    }
    // The signed query is everything before "&s=...", byte for byte.
    const auto begin = signature.last->begin;
    const auto signed_query = check.raw_query.substr(0, begin == 0 ? 0 : begin - 1);
    const auto expected = sign_path_and_query(check.path, signed_query, check.secret);
    if (!constant_time_equals(signature.last->value, expected)) {
        return core::make_error(core::Errc::InvalidSignature, "invalid signature");
    }
    return check_expiry(params, check.now_unix);
}

} // namespace cdn::security
