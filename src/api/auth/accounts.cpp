#include "api/auth/accounts.h"

#include "core/random.h"
#include "db/api_key_repository.h"
#include "db/customer_repository.h"
#include "security/keys.h"

namespace cdn::api {
namespace {

bool plausible_email(const std::string& email) {
    const auto at = email.find('@');
    return at != std::string::npos && at > 0 && email.find('.', at) != std::string::npos &&
           email.size() <= 254 && email.find_first_of(" \t\r\n") == std::string::npos;
}

} // namespace

core::Result<NewCustomer> create_customer(db::Database& database, const billing::PlanTable& plans,
                                          const core::Clock& clock, const std::string& email,
                                          const std::string& plan,
                                          std::optional<std::string> password_hash) {
    if (!plans.contains(plan)) {
        return core::make_error(core::Errc::InvalidRequest, "unknown plan '" + plan + "'");
    }
    if (!plausible_email(email)) {
        return core::make_error(core::Errc::InvalidRequest, "invalid email address");
    }
    const auto now = clock.unix_seconds();
    db::CustomerRecord customer;
    customer.id = "cus_" + core::random_base62(20);
    customer.public_key = security::generate_public_key();
    customer.email = email;
    customer.plan = plan;
    customer.settings_json = "{}";
    customer.password_hash = std::move(password_hash);
    customer.signing_secret = security::generate_secret();
    customer.created_at = now;
    customer.updated_at = now;

    const auto key = security::generate_api_key();
    db::ApiKeyRecord api_key;
    api_key.id = "key_" + core::random_base62(20);
    api_key.customer_id = customer.id;
    api_key.name = "default";
    api_key.prefix = key.prefix;
    api_key.secret_hash = key.hash;
    api_key.created_at = now;

    CDN_TRY_VOID(database.transaction([&](db::Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(db::CustomerRepository(tx).insert(customer));
        return db::ApiKeyRepository(tx).insert(api_key);
    }));
    return NewCustomer{customer.id, customer.public_key, key.secret};
}

} // namespace cdn::api
