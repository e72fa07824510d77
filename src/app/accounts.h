#pragma once

#include <string>

#include "billing/plan.h"
#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace cdn::app {

struct NewCustomer {
    std::string customer_id;
    std::string public_key;
    /** Shown once; only its hash is stored. */
    std::string api_key;
};

/** Operator bootstrap: a customer on `plan` with a fresh public key, signing secret and API
 *  key. Errors: invalid_request for an unknown plan or bad email, conflict for a taken email. */
core::Result<NewCustomer> create_customer(db::Database& database, const billing::PlanTable& plans,
                                          const core::Clock& clock, const std::string& email,
                                          const std::string& plan);

} // namespace cdn::app
