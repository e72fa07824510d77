#include "core/hash.h"

#include <xxhash.h>

#include <cstdio>

namespace cdn::core {

std::uint64_t hash64(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

std::string hash128_hex(std::string_view data) {
    const XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
    char out[33];
    std::snprintf(out, sizeof(out), "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return std::string(out, 32);
}

} // namespace cdn::core
