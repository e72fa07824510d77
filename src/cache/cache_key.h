#pragma once

#include <string>
#include <string_view>

namespace cdn::cache {

/** `imagecdn:{public_key}:{path}:{hash}` (delivery.md): `hash` is core::sha256_hex of the
 *  canonical options, 64 hex characters, present even when the options are empty. A
 *  cryptographic hash, so that nobody can craft options whose key is another variant's. Keys of
 *  older builds (32 hex characters of XXH3-128) are never produced again: a disk tier holding
 *  them misses on them, and they age out by LRU. */
std::string make_cache_key(std::string_view public_key, std::string_view path,
                           std::string_view canonical_options);

/** The prefix every variant of one original shares, for purge by path. It ends in ':' so that
 *  `a.png` does not reach `a.png.webp` (a path containing ':' may still be over-purged by a
 *  shorter one, e.g. `a` reaches `a:b`: a few extra misses, never stale content). */
std::string key_prefix_for_path(std::string_view public_key, std::string_view path);

/** The prefix every variant under `path_prefix` shares, for purge by prefix: no trailing ':',
 *  so `products/` reaches every path below it (and `products/a` reaches `products/ab.png`). */
std::string key_prefix_for_path_prefix(std::string_view public_key, std::string_view path_prefix);

/** The prefix every variant of one customer shares, for purge of everything. It ends in ':'
 *  so that `pk_abc` does not reach `pk_abcd`. */
std::string key_prefix_for_customer(std::string_view public_key);

} // namespace cdn::cache
