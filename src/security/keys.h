#pragma once

#include <string>
#include <string_view>

namespace cdn::security {

/** A new API key: the secret is shown once; only prefix and hash are stored. */
struct ApiKeySecret {
    /** "sk_" + 40 base62 characters. */
    std::string secret;
    /** The first 12 characters: the lookup key in the database, safe to show. */
    std::string prefix;
    /** Lowercase hex SHA-256 of the secret. A 238-bit random secret needs no slow hash. */
    std::string hash;
};

ApiKeySecret generate_api_key();

/** The stored hash of an API key secret. */
std::string hash_api_key(std::string_view secret);

/** The lookup prefix of an API key secret. */
std::string_view api_key_prefix(std::string_view secret);

/** "pk_" + 24 base62 characters. */
std::string generate_public_key();

/** True when `key` has the public key shape, so malformed keys never reach a lookup. */
bool is_public_key(std::string_view key);

/** 32 random bytes as hex: URL-signing secrets, JWT and internal secrets. */
std::string generate_secret();

/** Compares in time that depends only on the lengths, never on where the bytes differ. */
bool constant_time_equals(std::string_view a, std::string_view b);

} // namespace cdn::security
