#include "app/customer_admin.h"

#include <boost/json.hpp>

#include "account/customer_service.h"
#include "db/customer_repository.h"
#include "db/preset_repository.h"

namespace cdn::app {
namespace {

namespace json = boost::json;

core::Result<db::CustomerRecord> find_customer(db::Database& db, std::string_view public_key) {
    return account::find_customer_by_public_key(db, public_key);
}

} // namespace

// Validation and writes are the account module's (account/customer_service.h), so the
// operator and the API accept exactly the same changes.

core::Result<void> update_customer(db::Database& db, const account::PlanTable& plans,
                                   const core::Clock& clock, std::string_view public_key,
                                   const CustomerUpdate& update) {
    CDN_TRY(customer, find_customer(db, public_key));
    account::CustomerChange change;
    change.plan = update.plan;
    change.suspended = update.suspended;
    if (update.settings_patch) {
        boost::system::error_code ec;
        auto patch = json::parse(*update.settings_patch, ec);
        if (ec || !patch.is_object()) {
            return core::make_error(core::Errc::InvalidJson, "settings must be a JSON object");
        }
        change.settings_patch = std::move(patch.get_object());
    }
    return account::update_customer(db, plans, clock, customer, change);
}

core::Result<void> set_custom_domains(db::Database& db, const account::PlanTable& plans,
                                      std::string_view public_key,
                                      const std::vector<std::string>& hosts) {
    CDN_TRY(customer, find_customer(db, public_key));
    return account::set_custom_domains(db, plans, customer, hosts);
}

core::Result<void> put_preset(db::Database& db, const core::Clock& clock,
                              std::uint32_t max_dimension, std::string_view public_key,
                              std::string_view name, std::string_view options) {
    CDN_TRY(customer, find_customer(db, public_key));
    CDN_TRY_VOID(account::put_preset(db, clock, max_dimension, customer.id, name, options));
    return {};
}

core::Result<bool> delete_preset(db::Database& db, std::string_view public_key,
                                 std::string_view name) {
    CDN_TRY(customer, find_customer(db, public_key));
    return account::delete_preset(db, customer.id, name);
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
