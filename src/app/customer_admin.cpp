#include "app/customer_admin.h"

#include <boost/json.hpp>

#include "billing/customer_settings.h"
#include "core/strings.h"
#include "db/customer_repository.h"
#include "db/preset_repository.h"
#include "security/domain_allowlist.h"
#include "transform/options.h"

namespace cdn::app {
namespace {

namespace json = boost::json;

core::Result<db::CustomerRecord> find_customer(db::Database& db, std::string_view public_key) {
    CDN_TRY(record, db::CustomerRepository(db).find_by_public_key(public_key));
    if (!record) {
        return core::make_error(core::Errc::NotFound, "no customer has public key " +
                                                          std::string(public_key));
    }
    return std::move(*record);
}

core::Result<const billing::Plan*> find_plan(const billing::PlanTable& plans,
                                             std::string_view name) {
    const auto it = plans.find(name);
    if (it == plans.end()) {
        return core::make_error(core::Errc::InvalidRequest, "no plan named " + std::string(name));
    }
    return &it->second;
}

} // namespace

core::Result<void> update_customer(db::Database& db, const billing::PlanTable& plans,
                                   const core::Clock& clock, std::string_view public_key,
                                   const CustomerUpdate& update) {
    CDN_TRY(customer, find_customer(db, public_key));
    CDN_TRY(plan, find_plan(plans, update.plan.value_or(customer.plan)));
    CDN_TRY(settings, billing::parse_settings(customer.settings_json));
    if (update.settings_patch) {
        CDN_TRY(patched, billing::patch_settings(settings, *update.settings_patch));
        settings = std::move(patched);
    }
    // A plan change is checked against the settings in force too, so that no setting is left
    // that the new plan does not allow.
    CDN_TRY_VOID(billing::check_settings_plan(settings, *plan));
    const auto now = clock.unix_seconds();
    return db.transaction([&](db::Database& tx) -> core::Result<void> {
        db::CustomerRepository repo(tx);
        if (update.plan) {
            CDN_TRY_VOID(repo.update_plan(customer.id, *update.plan, now));
        }
        if (update.settings_patch) {
            CDN_TRY_VOID(repo.update_settings(customer.id, billing::settings_to_json(settings), now));
        }
        if (update.suspended) {
            CDN_TRY_VOID(repo.set_suspended(customer.id, *update.suspended, now));
        }
        return {};
    });
}

core::Result<void> set_custom_domains(db::Database& db, const billing::PlanTable& plans,
                                      std::string_view public_key,
                                      const std::vector<std::string>& hosts) {
    CDN_TRY(customer, find_customer(db, public_key));
    CDN_TRY(plan, find_plan(plans, customer.plan));
    if (hosts.size() > plan->custom_domains) {
        return core::make_field_error(
            core::Errc::FeatureNotInPlan, "custom_domains",
            "the " + plan->name + " plan allows " + std::to_string(plan->custom_domains) +
                " custom domains");
    }
    std::vector<std::string> normalised;
    for (const auto& host : hosts) {
        auto name = security::normalize_domain_pattern(host);
        if (!name || name->starts_with("*.")) {
            return core::make_field_error(core::Errc::InvalidSettings, "custom_domains",
                                          "custom_domains: not a host name: " + host);
        }
        normalised.push_back(std::move(*name));
    }
    return db::CustomerRepository(db).replace_custom_domains(customer.id, normalised);
}

core::Result<void> put_preset(db::Database& db, const core::Clock& clock,
                              std::uint32_t max_dimension, std::string_view public_key,
                              std::string_view name, std::string_view options) {
    CDN_TRY(customer, find_customer(db, public_key));
    const core::QueryParams name_param{{"preset", std::string(name)}};
    CDN_TRY_VOID(transform::parse_delivery_options(name_param, max_dimension));
    CDN_TRY_VOID(transform::parse_preset_options(options, max_dimension));
    return db::PresetRepository(db).put(
        customer.id, {.name = std::string(name), .options = std::string(options),
                      .updated_at = clock.unix_seconds()});
}

core::Result<bool> delete_preset(db::Database& db, std::string_view public_key,
                                 std::string_view name) {
    CDN_TRY(customer, find_customer(db, public_key));
    return db::PresetRepository(db).remove(customer.id, name);
}

core::Result<std::string> describe_customer(db::Database& db, std::string_view public_key) {
    CDN_TRY(customer, find_customer(db, public_key));
    CDN_TRY(domains, db::CustomerRepository(db).list_custom_domains(customer.id));
    CDN_TRY(presets, db::PresetRepository(db).list(customer.id));
    json::object out{
        {"id", customer.id},
        {"email", customer.email},
        {"plan", customer.plan},
        {"public_key", customer.public_key},
        {"signing_secret", customer.signing_secret},
        {"suspended", customer.suspended},
    };
    boost::system::error_code ec;
    auto settings = json::parse(customer.settings_json, ec);
    out["settings"] = ec ? json::value(customer.settings_json) : std::move(settings);
    json::array hosts(domains.begin(), domains.end());
    out["custom_domains"] = std::move(hosts);
    json::object named;
    for (const auto& preset : presets) {
        named[preset.name] = preset.options;
    }
    out["presets"] = std::move(named);
    return json::serialize(out);
}

} // namespace cdn::app
