#include "api/auth/accounts.h"

#include <algorithm>

#include "core/random.h"
#include "core/strings.h"
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

bool is_atext(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    constexpr std::string_view SPECIALS = "!#$%&'*+-/=?^_`{|}~";
    return SPECIALS.find(c) != std::string_view::npos;
}

bool valid_local_part(std::string_view local) {
    if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' ||
        local.find("..") != std::string_view::npos) {
        return false;
    }
    return std::all_of(local.begin(), local.end(), [](char c) { return c == '.' || is_atext(c); });
}

bool valid_domain(std::string_view domain) {
    if (domain.empty() || domain.size() > 253) {
        return false;
    }
    const auto labels = core::split(domain, '.');
    if (labels.size() < 2) {
        return false;
    }
    for (const auto label : labels) {
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        const bool ok = std::all_of(label.begin(), label.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        });
        if (!ok) {
            return false;
        }
    }
    const auto tld = labels.back();
    return !std::all_of(tld.begin(), tld.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

std::optional<std::string> normalize_email(std::string_view email) {
    auto lowered = core::to_lower(core::trim(email));
    const auto at = lowered.find('@');
    if (lowered.size() > 254 || at == std::string::npos ||
        lowered.find('@', at + 1) != std::string::npos) {
        return std::nullopt;
    }
    const std::string_view view(lowered);
    if (!valid_local_part(view.substr(0, at)) || !valid_domain(view.substr(at + 1))) {
        return std::nullopt;
    }
    return lowered;
}

core::Result<NewCustomer> create_customer(db::Database& database, const account::PlanTable& plans,
                                          const core::Clock& clock, const std::string& email,
                                          const std::string& plan,
                                          std::optional<std::string> password_hash,
                                          bool with_api_key) {
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

    const auto key = with_api_key ? security::generate_api_key() : security::ApiKeySecret{};
    db::ApiKeyRecord api_key;
    api_key.id = "key_" + core::random_base62(20);
    api_key.customer_id = customer.id;
    api_key.name = "default";
    api_key.prefix = key.prefix;
    api_key.secret_hash = key.hash;
    api_key.created_at = now;

    CDN_TRY_VOID(database.transaction([&](db::Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(db::CustomerRepository(tx).insert(customer));
        if (!with_api_key) {
            return {};
        }
        return db::ApiKeyRepository(tx).insert(api_key);
    }));
    return NewCustomer{customer.id, customer.public_key, key.secret};
}

} // namespace cdn::api
