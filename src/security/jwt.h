#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cdn::security {

/** The claims of our access tokens. */
struct JwtClaims {
    /** The customer id. */
    std::string sub;
    /** Issued at, unix seconds. */
    std::int64_t iat = 0;
    /** Expires at, unix seconds. */
    std::int64_t exp = 0;
};

/** A compact JWS: header `{"alg":"HS256","typ":"JWT"}`, the claims, HMAC-SHA256 with `secret`. */
std::string sign_jwt(const JwtClaims& claims, std::string_view secret);

/**
 * Verifies a token we issued. The algorithm is pinned: a header whose `alg` is anything but
 * HS256 (`none`, RS256, ...) is refused before any signature work; the signature is compared in
 * constant time; `exp` and `sub` are required and `exp` must be after `now`.
 * @return the claims, or Unauthorized with a message safe to show (it never says which check
 *         failed beyond "expired")
 */
core::Result<JwtClaims> verify_jwt(std::string_view token, std::string_view secret,
                                   std::int64_t now);

} // namespace cdn::security
