#include "cache/cache_key.h"

#include "core/hash.h"

namespace cdn::cache {

std::string make_cache_key(std::string_view public_key, std::string_view path,
                           std::string_view canonical_options) {
    return key_prefix_for_path(public_key, path) + core::sha256_hex(canonical_options);
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
