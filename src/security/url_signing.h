#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cdn::security {

/**
 * The signature of a request: lowercase hex HMAC-SHA256, keyed with `secret`, of `path` followed by
 * `?` and `query_without_s` when that query is non-empty (the path alone otherwise). Both are taken
 * byte for byte, exactly as they appear on the wire.
 * @param path the request path, e.g. "/pk_abc/products/item-001.png"
 * @param query_without_s the raw query without the leading `?` and without the `s` parameter
 * @param secret the customer's URL-signing secret
 * @return 64 lowercase hex characters
 */
std::string sign_path_and_query(std::string_view path, std::string_view query_without_s,
                                std::string_view secret);

/**
 * Appends `s=<signature>` as the last parameter of `url` (`?s=` or `&s=`). `url` is a path with an
 * optional query ("/pk/a.png?w=1") or an absolute http(s) URL; only the path and query are signed,
 * and a `#fragment` is kept after the signature. The URL must already be encoded as it will be
 * sent: a character outside RFC 3986 (a space, non-ASCII, `"<>\^`{|}`) is refused rather than
 * signed, since a client would percent-encode it and break the signature. clients/js/sign-url.mjs
 * implements the same rules.
 * @return the signed URL, or InvalidParameter for an empty secret, a URL that is neither a path nor
 *         an absolute http(s) URL with a path, or one that already has `s`/`sig`
 */
core::Result<std::string> sign_url(std::string_view url, std::string_view secret);

/** What verify_signature checks: a request exactly as it was received. */
struct SignatureCheck {
    /** The request path, exactly as sent. */
    std::string_view path;
    /** The query exactly as sent, without the leading `?`. */
    std::string_view raw_query;
    /** The customer's URL-signing secret; an empty secret verifies nothing. */
    std::string_view secret;
    /** The current time (from core::Clock::unix_seconds()), for `exp`. */
    std::int64_t now_unix = 0;
};

/**
 * Verifies `s` (or its alias `sig`): it must appear exactly once and be the last parameter, and
 * equal, in constant time, the signature of the path plus the query before it. Then every `exp`
 * parameter (covered by the signature) must be an integer later than now_unix.
 * @return InvalidSignature (missing, repeated, not last, or wrong `s`) or SignatureExpired; the
 *         messages are safe to show clients
 */
core::Result<void> verify_signature(const SignatureCheck& check);

} // namespace cdn::security
