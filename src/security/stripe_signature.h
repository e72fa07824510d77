#pragma once

#include <cstdint>
#include <string_view>

#include "core/result.h"

namespace cdn::security {

/** How far a webhook's timestamp may be from now, either way (Stripe's default tolerance). */
inline constexpr std::int64_t STRIPE_TOLERANCE_SECONDS = 300;

/**
 * Verifies a `Stripe-Signature` header over the raw request body, as Stripe signs webhooks:
 * `t=<unix seconds>,v1=<hex>[,v1=<hex>...]` where each v1 may be the lowercase hex
 * HMAC-SHA256 of `"<t>.<payload>"` keyed with the endpoint secret (several v1 values appear
 * while a secret is being rolled; one match suffices). Compared in constant time; the
 * timestamp must be within `tolerance` seconds of `now`, in the past or the future.
 * @return the timestamp, or InvalidSignature with a message safe to show
 */
core::Result<std::int64_t> verify_stripe_signature(std::string_view header,
                                                   std::string_view payload,
                                                   std::string_view secret, std::int64_t now,
                                                   std::int64_t tolerance = STRIPE_TOLERANCE_SECONDS);

} // namespace cdn::security
