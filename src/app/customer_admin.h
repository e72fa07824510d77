#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "account/plan.h"
#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace cdn::app {

/** What `imagecdn customer update` changes; unset members stay as they are. */
struct CustomerUpdate {
    std::optional<std::string> plan;
    /** A settings PATCH body, exactly as the API takes it (custom_domains included). */
    std::optional<std::string> settings_patch;
    std::optional<bool> suspended;
};

/**
 * The operator's path to a customer's plan and settings, beside the management API. Validation
 * and writes are the account module's (account/customer_service.h), so both accept exactly the
 * same changes. Errors: not_found (unknown public key), invalid_request (unknown plan),
 * invalid_json (settings not a JSON object), invalid_settings / feature_not_in_plan naming the
 * field, conflict (a custom domain of another customer).
 */
core::Result<void> update_customer(db::Database& db, const account::PlanTable& plans,
                                   const core::Clock& clock, std::string_view public_key,
                                   const CustomerUpdate& update);

/** Makes `hosts` exactly the customer's custom domains. Errors: invalid_settings for a host
 *  that is not a plain host name, feature_not_in_plan over the plan's count, conflict for a
 *  host of another customer. */
core::Result<void> set_custom_domains(db::Database& db, const account::PlanTable& plans,
                                      std::string_view public_key,
                                      const std::vector<std::string>& hosts);

/** Creates or replaces a preset; options are validated exactly as delivery options.
 *  Errors: invalid_preset naming the field (the message naming the option), not_found for an
 *  unknown key, conflict over the number of presets. */
core::Result<void> put_preset(db::Database& db, const core::Clock& clock,
                              std::uint32_t max_dimension, std::string_view public_key,
                              std::string_view name, std::string_view options);

/** @return false when there was no such preset. */
core::Result<bool> delete_preset(db::Database& db, std::string_view public_key,
                                 std::string_view name);

/** The customer as JSON for the operator: id, email, plan, public key, signing secret,
 *  settings, custom domains and presets. */
core::Result<std::string> describe_customer(db::Database& db, std::string_view public_key);

} // namespace cdn::app
