#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/hash.h"

namespace cdn::cache {

/**
 * SHA-256 hex digests of canonical option strings, remembered: the options are hashed on every
 * request (the cache key), yet a site asks for a handful of option strings across all its
 * images. Looked up by the whole string (a fast hash only picks the bucket; equality is on
 * every byte), so two option strings never share a digest unless SHA-256 says so. At most
 * `capacity` strings; when full it starts again empty. Not thread-safe: one per thread.
 */
class OptionsDigests {
public:
    using Hasher = std::uint64_t (*)(std::string_view);
    static constexpr std::size_t DEFAULT_CAPACITY = 1024;

    /** @param hasher picks buckets (core::hash64); tests may pass one that collides. */
    explicit OptionsDigests(std::size_t capacity = DEFAULT_CAPACITY, Hasher hasher = core::hash64);

    /** core::sha256_hex(canonical_options); valid until the next call. */
    const std::string& digest(std::string_view canonical_options);
    std::size_t size() const { return digests_.size(); }

private:
    struct Hash {
        using is_transparent = void;
        Hasher hasher;
        std::size_t operator()(std::string_view s) const { return hasher(s); }
    };

    std::size_t capacity_;
    std::unordered_map<std::string, std::string, Hash, std::equal_to<>> digests_;
};

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
