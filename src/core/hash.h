#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdn::core {

/** XXH3 64-bit hash: fast, for in-process tables and shard selection. */
std::uint64_t hash64(std::string_view data);

/** XXH3 128-bit hash as 32 lowercase hex characters: for file names and ETags, where a
 *  collision someone aims costs at most a miss. */
std::string hash128_hex(std::string_view data);

/** SHA-256 as 64 lowercase hex characters: where a collision someone aims must not be found
 *  (cache keys). */
std::string sha256_hex(std::string_view data);

} // namespace cdn::core
