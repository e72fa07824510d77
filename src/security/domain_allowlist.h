#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cdn::security {

/**
 * Delivery step 4: may a request with these headers be served under a customer's `allowed_domains`?
 * An empty list allows everything, and so does a request with neither Origin nor Referer
 * (server-to-server). Otherwise the host of Origin (or, without Origin, of Referer), lowercased and
 * without port or trailing dot, must equal an entry or match a `*.example.com` entry, which matches
 * any subdomain but not example.com itself. A header whose host cannot be parsed (including Origin
 * "null") is not allowed.
 * @param allowed_domains entries as returned by normalize_domain_pattern
 */
bool origin_allowed(const std::vector<std::string>& allowed_domains,
                    std::optional<std::string_view> origin,
                    std::optional<std::string_view> referer);

/**
 * Validates and normalises one `allowed_domains` entry from the settings: a host name or `*.`
 * followed by a host name of at least two labels, lowercased, one trailing dot dropped. Labels are
 * 1..63 of [a-z0-9_-], not starting or ending with `-`.
 * @return the normalised entry, or InvalidRequest naming the value (schemes, paths, ports, spaces,
 *         empty labels, `*` anywhere but a leading `*.`)
 */
core::Result<std::string> normalize_domain_pattern(std::string_view pattern);

} // namespace cdn::security
