#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace cdn::edge {

/** Step 1 of delivery: `/{public_key}/{path}?{options}` taken apart, with no I/O. */
struct ImageUrl {
    std::string public_key;
    /** The original's key within the customer's namespace, percent-decoded and validated. */
    std::string path;
    /** Query parameters in the order sent, percent-decoded. */
    std::vector<std::pair<std::string, std::string>> params;

    /** The object store key of the original: `{public_key}/{path}`. */
    std::string store_key() const { return public_key + "/" + path; }
};

/** Decodes %XX escapes (and '+' as space when `plus_is_space`); nullopt on a bad escape. */
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

/** Parses the request path and query. Errors: unknown_customer for a malformed public key,
 *  invalid_path for a bad path, bad_request for undecodable escapes. */
core::Result<ImageUrl> parse_image_url(std::string_view path, std::string_view query);

} // namespace cdn::edge
