#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/strings.h"

namespace cdn::edge {

/** The path of a delivery URL taken apart, with no I/O: `/{public_key}/{path}`, or `/{path}`
 *  on a customer's custom domain. */
struct ImageUrl {
    /** Empty for a custom-domain URL until the customer is resolved from the Host. */
    std::string public_key;
    /** The original's key within the customer's namespace, percent-decoded and validated. */
    std::string path;

    /** The object store key of the original: `{public_key}/{path}`. */
    std::string store_key() const { return public_key + "/" + path; }
};

/** Parses `/{public_key}/{path}` (still percent-encoded). Errors: unknown_customer for a
 *  malformed public key, invalid_path for a bad or undecodable path. */
core::Result<ImageUrl> parse_image_path(std::string_view path);

/** Parses `/{path}` as requested on a customer's custom domain, leaving the public key
 *  empty. Errors: invalid_path. */
core::Result<ImageUrl> parse_custom_domain_path(std::string_view path);

/** Cloudflare's URL format, `/cdn-cgi/image/<options>/<source>`, taken apart, still encoded. */
struct CloudflarePath {
    /** The comma-separated `key=value` options. */
    std::string_view options;
    /** The original's path as sent, with its leading '/': `/{public_key}/{path}`, or `/{path}`
     *  on a custom domain. */
    std::string_view source;
};

/** Splits a path under `/cdn-cgi/image/`; nullopt for any other path. Errors: invalid_path for
 *  no source, or a source that is an absolute URL (no other origin is fetched). */
core::Result<std::optional<CloudflarePath>> split_cloudflare_path(std::string_view path);

/** Query parameters in the order sent, percent-decoded. Errors: bad_request. */
core::Result<core::QueryParams> parse_query(std::string_view query);

} // namespace cdn::edge
