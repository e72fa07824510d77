#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdn::storage::sigv4 {

/** The payload hash S3 accepts in place of the body's SHA-256 (header signing over TLS or a
 *  body that is not known yet, and every presigned URL). */
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

/** Who signs, and for which scope. `service` is "s3" for every store; other values exist only
 *  for AWS's generic test vectors. */
struct Credentials {
    std::string access_key;
    std::string secret_key;
    std::string region;
    std::string service = "s3";
};

/** One request to sign. Everything is given unencoded: the signer encodes it. */
struct Request {
    std::string method;
    /** The absolute path, e.g. "/bucket/a b.jpg". */
    std::string path;
    /** Query parameters, in any order; "?lifecycle" is {"lifecycle", ""}. */
    std::vector<std::pair<std::string, std::string>> query;
    /** Headers to sign (Host among them), names in any case. */
    std::vector<std::pair<std::string, std::string>> headers;
    /** Lowercase hex SHA-256 of the body, or kUnsignedPayload. */
    std::string payload_hash;
};

/** AWS's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex); '/'
 *  stays when `keep_slash` (paths). A space is %20, never '+'. */
std::string uri_encode(std::string_view text, bool keep_slash);

/** Query parameters encoded and sorted as the canonical request has them (and as a URL may
 *  carry them): `a=1&b=x%20y`. */
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);

/** `YYYYMMDDTHHMMSSZ` for a Unix time (UTC). */
std::string amz_date(std::int64_t unix_seconds);

/** The canonical request (S3 flavour: the path is encoded once, not twice). */
std::string canonical_request(const Request& request);

/** `AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hex sha256(canonical)}`. */
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical);

/** `{date}/{region}/{service}/aws4_request` for an amz_date. */
std::string credential_scope(const Credentials& credentials, std::string_view amz_date);

/** HMAC chain "AWS4"+secret → date → region → service → "aws4_request". */
std::array<unsigned char, 32> signing_key(const Credentials& credentials,
                                          std::string_view date);

/** Lowercase hex signature of `string_to_sign` with the signing key of its date. */
std::string signature(const Credentials& credentials, std::string_view amz_date,
                      std::string_view string_to_sign);

/** The `Authorization` header value for `request` (whose headers must already hold
 *  x-amz-date and, for S3, x-amz-content-sha256 when they are to be signed). */
std::string authorization(const Credentials& credentials, const Request& request,
                          std::string_view amz_date);

/** Adds the X-Amz-* query parameters of a presigned URL (payload UNSIGNED-PAYLOAD, the signed
 *  headers those of `request`) and returns the whole encoded query string, signature last. */
std::string presigned_query(const Credentials& credentials, Request request,
                            std::string_view amz_date, std::int64_t expires_seconds);

} // namespace cdn::storage::sigv4
