#pragma once

#include <optional>
#include <string>

#include "billing/plan.h"
#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace cdn::api {

struct NewCustomer {
    std::string customer_id;
    std::string public_key;
    /** Shown once; only its hash is stored. */
    std::string api_key;
};

/** A new customer (signup, or operator bootstrap without a password) on `plan` with a fresh public key, signing secret and API
 *  key. Errors: invalid_request for an unknown plan or bad email, conflict for a taken email. */
core::Result<NewCustomer> create_customer(db::Database& database, const billing::PlanTable& plans,
                                          const core::Clock& clock, const std::string& email,
                                          const std::string& plan,
                                          std::optional<std::string> password_hash = std::nullopt);

} // namespace cdn::api
