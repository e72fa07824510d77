#pragma once

#include <cstddef>
#include <string>

namespace cdn::core {

/** Cryptographically secure random bytes from the kernel (getrandom). */
std::string random_bytes(std::size_t count);

/** A random token of `length` base62 characters, uniform (rejection sampling). */
std::string random_base62(std::size_t length);

/** `count` random bytes as lowercase hex. */
std::string random_hex(std::size_t count);

} // namespace cdn::core
