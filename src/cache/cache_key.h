#pragma once

#include <string>
#include <string_view>

namespace cdn::cache {

/** `imagecdn:{public_key}:{path}:{hash}` (delivery.md): `hash` is core::hash128_hex of the
 *  canonical options, 32 hex characters, present even when the options are empty. */
std::string make_cache_key(std::string_view public_key, std::string_view path,
                           std::string_view canonical_options);

/** The prefix every variant of one original shares, for purge by path. */
std::string key_prefix_for_path(std::string_view public_key, std::string_view path);

/** The prefix every variant of one customer shares, for purge of everything. */
std::string key_prefix_for_customer(std::string_view public_key);

} // namespace cdn::cache
