#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cdn::security {

/**
 * Password hashing parameters: argon2id with OWASP's recommended minimum configuration
 * (Password Storage Cheat Sheet: m=19 MiB, t=2 iterations, p=1). libsodium's opslimit is the
 * iteration count and memlimit is in bytes; its parallelism is always 1. The encoded hash
 * reads `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
 */
inline constexpr unsigned long long PASSWORD_OPSLIMIT = 2;
inline constexpr std::size_t PASSWORD_MEMLIMIT = 19 * 1024 * 1024;

/** Longest password hashed: longer input is refused before any work (a cheap DoS guard). */
inline constexpr std::size_t MAX_PASSWORD_BYTES = 1024;

/**
 * A new argon2id hash of `password` with a random salt, as an encoded string (PHC format).
 * Slow on purpose (tens of milliseconds, 19 MiB): call from the blocking pool.
 * Errors: InvalidRequest above MAX_PASSWORD_BYTES; Internal when libsodium cannot initialise
 * or allocate.
 */
core::Result<std::string> hash_password(std::string_view password);

/** True when `password` matches the encoded `hash`; false for a wrong password and for any
 *  hash that is malformed or not argon2. Costs as much as hash_password(). */
bool verify_password(std::string_view hash, std::string_view password);

/** True when `hash` was made with other parameters than today's (rehash it at next login). */
bool password_needs_rehash(std::string_view hash);

/**
 * A fixed argon2id hash (of a random password nobody knows) with today's parameters. Login
 * verifies against it when the email is unknown or has no password, so that answer takes as
 * long as a wrong password for a real account.
 */
std::string_view dummy_password_hash();

} // namespace cdn::security
