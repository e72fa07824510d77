#include "cache/cache_key.h"

#include "core/hash.h"

namespace cdn::cache {

OptionsDigests::OptionsDigests(std::size_t capacity, Hasher hasher)
    : capacity_(capacity), digests_(0, Hash{hasher}) {}

const std::string& OptionsDigests::digest(std::string_view canonical_options) {
    if (const auto found = digests_.find(canonical_options); found != digests_.end()) {
        return found->second;
    }
    // Bounded by forgetting everything: an attacker varying options only costs the hashes
    // that every request paid before this table existed.
    if (digests_.size() >= capacity_) {
        digests_.clear();
    }
    return digests_.emplace(std::string(canonical_options), core::sha256_hex(canonical_options))
        .first->second;
}

std::string make_cache_key(std::string_view public_key, std::string_view path,
                           std::string_view canonical_options) {
    // Per thread: no lock; a site's pages use a few option strings for all their images.
    thread_local OptionsDigests digests;
    return key_prefix_for_path(public_key, path) + digests.digest(canonical_options);
}

std::string key_prefix_for_path(std::string_view public_key, std::string_view path) {
    std::string key = key_prefix_for_customer(public_key);
    key += path;
    key += ':';
    return key;
}

std::string key_prefix_for_path_prefix(std::string_view public_key,
                                       std::string_view path_prefix) {
    std::string key = key_prefix_for_customer(public_key);
    key += path_prefix;
    return key;
}

std::string key_prefix_for_customer(std::string_view public_key) {
    std::string key = "imagecdn:";
    key += public_key;
    key += ':';
    return key;
}

} // namespace cdn::cache
