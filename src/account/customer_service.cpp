#include "account/customer_service.h"

#include <algorithm>
#include <utility>

#include "account/customer_settings.h"
#include "core/strings.h"
#include "security/domain_allowlist.h"
#include "security/keys.h"
#include "transform/options.h"

namespace cdn::account {
namespace {

namespace json = boost::json;
using core::Errc;

constexpr std::string_view CUSTOM_DOMAINS = "custom_domains";

core::Error domains_error(Errc code, std::string message) {
    return core::make_field_error(code, std::string(CUSTOM_DOMAINS),
                                  std::string(CUSTOM_DOMAINS) + ": " + std::move(message));
}

/** Plan gate on the number of custom domains. */
core::Result<void> check_domain_count(std::size_t count, const Plan& plan) {
    if (count > plan.custom_domains) {
        return domains_error(Errc::FeatureNotInPlan,
                             "the " + plan.name + " plan allows " +
                                 std::to_string(plan.custom_domains) + " custom domain" +
                                 (plan.custom_domains == 1 ? "" : "s"));
    }
    return {};
}

/** Conflict when a host already serves another customer (checked before writing, so the
 *  answer names the host; the unique key still decides a race). */
core::Result<void> check_domains_free(db::Database& db, std::string_view customer_id,
                                      const std::vector<std::string>& hosts) {
    db::CustomerRepository repo(db);
    for (const auto& host : hosts) {
        CDN_TRY(owner, repo.find_by_custom_domain(host));
        if (owner && owner->id != customer_id) {
            return domains_error(Errc::Conflict, host + " is already used by another account");
        }
    }
    return {};
}

/** The write, mapping the unique key's conflict (a race with another customer) to the field. */
core::Result<void> replace_domains(db::Database& tx, std::string_view customer_id,
                                   const std::vector<std::string>& hosts) {
    auto replaced = db::CustomerRepository(tx).replace_custom_domains(customer_id, hosts);
    if (!replaced && replaced.error().code == Errc::Conflict) {
        return domains_error(Errc::Conflict, "a host is already used by another account");
    }
    return replaced;
}

} // namespace

core::Result<db::CustomerRecord> find_customer_by_public_key(db::Database& db,
                                                             std::string_view public_key) {
    CDN_TRY(record, db::CustomerRepository(db).find_by_public_key(public_key));
    if (!record) {
        return core::make_error(Errc::NotFound,
                                "no customer has public key " + std::string(public_key));
    }
    return std::move(*record);
}

core::Result<const Plan*> find_plan(const PlanTable& plans, std::string_view name) {
    const auto it = plans.find(name);
    if (it == plans.end()) {
        return core::make_field_error(Errc::InvalidRequest, "plan",
                                      "no plan named " + std::string(name));
    }
    return &it->second;
}

namespace {

bool requires_signed_urls(const db::CustomerRecord& customer) {
    const auto settings = parse_settings(customer.settings_json);
    return settings && settings->require_signed_urls;
}

} // namespace

json::array settings_notices(const db::CustomerRecord& customer, const Plan& plan) {
    json::array notices;
    if (!plan.signed_urls && requires_signed_urls(customer)) {
        notices.push_back(json::object{
            {"code", core::code_name(Errc::FeatureNotInPlan)},
            {"setting", "require_signed_urls"},
            {"message", "Signed URLs are not in the " + plan.name +
                            " plan, but require_signed_urls stays in force: only signed URLs "
                            "are served. Turn it off to serve unsigned URLs, or change plan."},
        });
    }
    return notices;
}

bool may_sign_urls(const db::CustomerRecord& customer, const Plan& plan) {
    return plan.signed_urls || requires_signed_urls(customer);
}

core::Result<std::vector<std::string>> parse_custom_domains(const json::value& value) {
    if (value.is_null()) {
        return std::vector<std::string>{};
    }
    if (!value.is_array() || value.get_array().size() > MAX_CUSTOM_DOMAINS) {
        return domains_error(Errc::InvalidSettings,
                             "must be a list of at most " + std::to_string(MAX_CUSTOM_DOMAINS) +
                                 " host names like images.example.com");
    }
    std::vector<std::string> hosts;
    for (const auto& entry : value.get_array()) {
        if (!entry.is_string()) {
            return domains_error(Errc::InvalidSettings, "every entry must be a host name");
        }
        const std::string_view text = entry.get_string();
        auto host = security::normalize_domain_pattern(text);
        if (!host || host->starts_with("*.")) {
            return domains_error(Errc::InvalidSettings,
                                 "not a host name: " + std::string(text.substr(0, 256)));
        }
        if (std::find(hosts.begin(), hosts.end(), *host) == hosts.end()) {
            hosts.push_back(std::move(*host));
        }
    }
    return hosts;
}

core::Result<void> update_customer(db::Database& db, const PlanTable& plans,
                                   const core::Clock& clock, const db::CustomerRecord& customer,
                                   const CustomerChange& change) {
    CDN_TRY(plan, find_plan(plans, change.plan.value_or(customer.plan)));
    CDN_TRY(settings, parse_settings(customer.settings_json));
    std::optional<std::vector<std::string>> new_domains;
    if (change.settings_patch) {
        json::object patch = *change.settings_patch;
        if (const auto* domains = patch.if_contains(CUSTOM_DOMAINS)) {
            CDN_TRY(hosts, parse_custom_domains(*domains));
            new_domains = std::move(hosts);
            patch.erase(CUSTOM_DOMAINS);
        }
        CDN_TRY(patched, patch_settings(settings, json::serialize(patch)));
        settings = std::move(patched);
    }
    // A plan change is checked against what stays in force too, so that nothing is left that
    // the new plan does not allow.
    CDN_TRY_VOID(check_settings_plan(settings, *plan));
    if (new_domains) {
        CDN_TRY_VOID(check_domain_count(new_domains->size(), *plan));
        CDN_TRY_VOID(check_domains_free(db, customer.id, *new_domains));
    } else if (change.plan) {
        CDN_TRY(current, db::CustomerRepository(db).list_custom_domains(customer.id));
        CDN_TRY_VOID(check_domain_count(current.size(), *plan));
    }
    const auto now = clock.unix_seconds();
    return db.transaction([&](db::Database& tx) -> core::Result<void> {
        db::CustomerRepository repo(tx);
        if (change.plan) {
            CDN_TRY_VOID(repo.update_plan(customer.id, *change.plan, now));
        }
        if (change.settings_patch) {
            CDN_TRY_VOID(repo.update_settings(customer.id, settings_to_json(settings), now));
        }
        if (new_domains) {
            CDN_TRY_VOID(replace_domains(tx, customer.id, *new_domains));
        }
        if (change.suspended) {
            CDN_TRY_VOID(repo.set_suspended(customer.id, *change.suspended, now));
        }
        return {};
    });
}

core::Result<void> set_custom_domains(db::Database& db, const PlanTable& plans,
                                      const db::CustomerRecord& customer,
                                      const std::vector<std::string>& hosts) {
    json::array list;
    for (const auto& host : hosts) {
        list.emplace_back(host);
    }
    CDN_TRY(normalised, parse_custom_domains(list));
    CDN_TRY(plan, find_plan(plans, customer.plan));
    CDN_TRY_VOID(check_domain_count(normalised.size(), *plan));
    CDN_TRY_VOID(check_domains_free(db, customer.id, normalised));
    return replace_domains(db, customer.id, normalised);
}

core::Result<std::string> rotate_signing_secret(db::Database& db, const core::Clock& clock,
                                                const db::CustomerRecord& customer) {
    auto secret = security::generate_secret();
    db::CustomerRepository customers(db);
    CDN_TRY_VOID(customers.update_signing_secret(customer.id, secret, clock.unix_seconds()));
    return secret;
}

core::Result<void> validate_preset_name(std::string_view name) {
    const core::QueryParams param{{"preset", std::string(name)}};
    if (auto parsed = transform::parse_delivery_options(param, 1); !parsed) {
        return core::make_field_error(Errc::InvalidPreset, "name",
                                      "name: a preset name is 1 to 64 characters from A-Z, "
                                      "a-z, 0-9, _ and -");
    }
    return {};
}

core::Result<void> validate_preset_options(std::string_view options,
                                           std::uint32_t max_dimension) {
    if (options.empty() || options.size() > MAX_PRESET_OPTIONS_BYTES) {
        return core::make_field_error(Errc::InvalidPreset, "options",
                                      "options: must be 1 to " +
                                          std::to_string(MAX_PRESET_OPTIONS_BYTES) + " bytes");
    }
    if (auto parsed = transform::parse_preset_options(options, max_dimension); !parsed) {
        // The message names the option at fault ("width must be ...", "unknown parameter 'x'").
        return core::make_field_error(Errc::InvalidPreset, "options",
                                      "options: " + parsed.error().message);
    }
    return {};
}

core::Result<PutPresetResult> put_preset(db::Database& db, const core::Clock& clock,
                                         std::uint32_t max_dimension,
                                         std::string_view customer_id, std::string_view name,
                                         std::string_view options) {
    CDN_TRY_VOID(validate_preset_name(name));
    CDN_TRY_VOID(validate_preset_options(options, max_dimension));
    PutPresetResult result;
    result.preset = {.name = std::string(name),
                     .options = std::string(options),
                     .updated_at = clock.unix_seconds()};
    CDN_TRY_VOID(db.transaction([&](db::Database& tx) -> core::Result<void> {
        db::PresetRepository presets(tx);
        CDN_TRY(existing, presets.find(customer_id, name));
        result.created = !existing.has_value();
        if (result.created) {
            CDN_TRY(all, presets.list(customer_id));
            if (all.size() >= MAX_PRESETS) {
                return core::make_error(Errc::Conflict, "an account has at most " +
                                                            std::to_string(MAX_PRESETS) +
                                                            " presets: delete one first");
            }
        }
        return presets.put(customer_id, result.preset);
    }));
    return result;
}

core::Result<bool> delete_preset(db::Database& db, std::string_view customer_id,
                                 std::string_view name) {
    return db::PresetRepository(db).remove(customer_id, name);
}

} // namespace cdn::account
