#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "account/plan.h"
#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace cdn::api {

struct NewCustomer {
    std::string customer_id;
    std::string public_key;
    /** Shown once; only its hash is stored. Empty when no key was made. */
    std::string api_key;
};

/** A new customer (signup, or operator bootstrap without a password) on `plan` with a fresh
 *  public key, signing secret and (when `with_api_key`) an API key named "default". Signup
 *  makes none: its answer carries tokens, and a key whose secret was never shown is useless.
 *  Errors: invalid_request for an unknown plan or bad email, conflict for a taken email. */
core::Result<NewCustomer> create_customer(db::Database& database, const account::PlanTable& plans,
                                          const core::Clock& clock, const std::string& email,
                                          const std::string& plan,
                                          std::optional<std::string> password_hash = std::nullopt,
                                          bool with_api_key = true);

/**
 * `email` trimmed and lower-cased when it is a valid address for an account, else nullopt.
 * Valid: at most 254 bytes, one `@`; a local part of 1..64 printable ASCII characters (RFC
 * 5322 atext and dots, no leading, trailing or double dot; no quoted forms); a domain of at
 * least two dot-separated labels of 1..63 letters, digits or hyphens (not at either end), the
 * last one not all digits. Internationalised domains must arrive as punycode.
 */
std::optional<std::string> normalize_email(std::string_view email);

} // namespace cdn::api
