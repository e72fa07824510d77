#include "api/common/customer_json.h"

#include "core/strings.h"

namespace cdn::api {

boost::json::object customer_json(const db::CustomerRecord& customer) {
    boost::system::error_code ec;
    auto settings = boost::json::parse(customer.settings_json, ec);
    return {
        {"id", customer.id},
        {"email", customer.email},
        {"plan", customer.plan},
        {"billing_status", customer.billing_status},
        {"public_key", customer.public_key},
        {"settings", ec || !settings.is_object() ? boost::json::object{} : settings},
        {"created_at", core::rfc3339(customer.created_at)},
    };
}

core::Result<db::CustomerRecord> load_customer(db::Database& db, std::string_view customer_id) {
    CDN_TRY(customer, db::CustomerRepository(db).find_by_id(customer_id));
    if (!customer) {
        return core::make_error(core::Errc::Unauthorized, "this account no longer exists");
    }
    return std::move(*customer);
}

core::Result<db::CustomerRecord> caller_customer(const ApiDeps& deps, const ApiRequest& request) {
    return load_customer(deps.db, request.caller().customer_id);
}

} // namespace cdn::api
