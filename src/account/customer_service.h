#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "account/plan.h"
#include "core/clock.h"
#include "core/result.h"
#include "db/customer_repository.h"
#include "db/database.h"
#include "db/preset_repository.h"

namespace cdn::account {

/**
 * A customer's account changes, shared by the management API and the operator CLI
 * (app/customer_admin) so that both validate identically. Nothing here announces the change:
 * the caller does (announce_config_change in the API, a signal to the server in the CLI).
 */

/** Most custom domains any request may name, whatever the plan (a plan's count is lower). */
inline constexpr std::size_t MAX_CUSTOM_DOMAINS = 100;
/** Most presets one customer may have. */
inline constexpr std::size_t MAX_PRESETS = 100;
/** Longest preset options string. */
inline constexpr std::size_t MAX_PRESET_OPTIONS_BYTES = 1024;

/** The customer with `public_key`; NotFound when none. */
core::Result<db::CustomerRecord> find_customer_by_public_key(db::Database& db,
                                                             std::string_view public_key);

/** The plan named `name`; InvalidRequest when the table has none (field `plan`). */
core::Result<const Plan*> find_plan(const PlanTable& plans, std::string_view name);

/** What one change to a customer carries; unset members stay as they are. */
struct CustomerChange {
    std::optional<std::string> plan;
    /**
     * A settings PATCH body (api.md `PATCH /customer/settings`): every member is a setting of
     * CustomerSettings, or `custom_domains` (a list of host names; null clears it).
     */
    std::optional<boost::json::object> settings_patch;
    std::optional<bool> suspended;
};

/**
 * Validates `change` completely, then writes it in one transaction (all or nothing).
 * Order of checks: the plan name (invalid_request), every setting (invalid_settings naming the
 * field, unknown members included), the plan's gates on the resulting settings and custom
 * domain count (feature_not_in_plan naming the field; also on a plan change, so nothing is left
 * that the new plan does not allow), custom domains of other customers (conflict).
 */
core::Result<void> update_customer(db::Database& db, const PlanTable& plans,
                                   const core::Clock& clock, const db::CustomerRecord& customer,
                                   const CustomerChange& change);

/**
 * What the customer's settings ask for that the plan in force lacks, and what happens
 * meanwhile, for the dashboard to say: `[{code: "feature_not_in_plan", setting, message}]`.
 * Today only `require_signed_urls`, which the edge keeps enforcing after a downgrade (an owner
 * who closed a site to unsigned URLs must not find it open), and signing still works for it.
 * Empty when the settings do not parse (the edge fails closed on them anyway).
 */
boost::json::array settings_notices(const db::CustomerRecord& customer, const Plan& plan);

/** True when the customer may have URLs signed: its plan has signed URLs, or its settings
 *  require them (kept in force after a downgrade, see settings_notices). */
bool may_sign_urls(const db::CustomerRecord& customer, const Plan& plan);

/**
 * A `custom_domains` value: a list of at most MAX_CUSTOM_DOMAINS plain host names (no
 * wildcard, no scheme or port), lower-cased, duplicates dropped. InvalidSettings naming
 * `custom_domains` otherwise.
 */
core::Result<std::vector<std::string>> parse_custom_domains(const boost::json::value& value);

/** Makes `hosts` exactly the customer's custom domains (same checks as update_customer). */
core::Result<void> set_custom_domains(db::Database& db, const PlanTable& plans,
                                      const db::CustomerRecord& customer,
                                      const std::vector<std::string>& hosts);

/** A new URL-signing secret for the customer, written and returned (shown once). */
core::Result<std::string> rotate_signing_secret(db::Database& db, const core::Clock& clock,
                                                const db::CustomerRecord& customer);

/** A preset name: 1..64 of A-Z, a-z, 0-9, _ and - (as `?preset=` accepts). InvalidPreset
 *  naming `name` otherwise. */
core::Result<void> validate_preset_name(std::string_view name);

/** Preset options, validated exactly as delivery options (transform::parse_preset_options).
 *  InvalidPreset naming `options`, the message naming the bad option. */
core::Result<void> validate_preset_options(std::string_view options, std::uint32_t max_dimension);

struct PutPresetResult {
    db::PresetRecord preset;
    /** False when a preset of that name was replaced. */
    bool created = false;
};

/** Creates or replaces a preset. Errors: InvalidPreset (name or options), Conflict when a new
 *  preset would exceed MAX_PRESETS. */
core::Result<PutPresetResult> put_preset(db::Database& db, const core::Clock& clock,
                                         std::uint32_t max_dimension,
                                         std::string_view customer_id, std::string_view name,
                                         std::string_view options);

/** @return false when the customer had no such preset. */
core::Result<bool> delete_preset(db::Database& db, std::string_view customer_id,
                                 std::string_view name);

} // namespace cdn::account
