#include "api/customer/routes.h"

#include "api/common/announce.h"
#include "api/common/customer_json.h"
#include "api/common/json.h"
#include "api/common/tenant_limits.h"
#include "account/customer_service.h"
#include "core/strings.h"
#include "db/preset_repository.h"
#include "security/url_signing.h"
#include "storage/key.h"
#include "transform/options.h"

namespace cdn::api {
namespace {

using core::Errc;

constexpr std::size_t MAX_SIGN_PATH_BYTES = 1024;
constexpr std::size_t MAX_SIGN_OPTIONS_BYTES = 2048;
constexpr std::int64_t MAX_EXPIRES_IN_SECONDS = 31'536'000;

/** GET /customer's shape: customer_json plus the custom domains and the settings' notices. */
core::Result<json::object> full_customer_json(const ApiDeps& deps,
                                              const db::CustomerRecord& customer) {
    CDN_TRY(domains, db::CustomerRepository(deps.db).list_custom_domains(customer.id));
    auto out = customer_json(customer);
    out["custom_domains"] = json::array(domains.begin(), domains.end());
    out["notices"] = account::settings_notices(customer, deps.plan_of(customer));
    return out;
}

core::Result<http::Response> answer_customer(const ApiDeps& deps, std::string_view customer_id) {
    CDN_TRY(customer, load_customer(deps.db, customer_id));
    CDN_TRY(body, full_customer_json(deps, customer));
    return json_response(200, body);
}

core::Result<http::Response> get_customer(ApiDeps& deps, ApiRequest& req) {
    return answer_customer(deps, req.caller().customer_id);
}

core::Result<http::Response> patch_settings(ApiDeps& deps, ApiRequest& req) {
    // Every member is a setting: account::update_customer names an unknown one (invalid_settings).
    CDN_TRY(patch, json_body(req.http));
    CDN_TRY(customer, caller_customer(deps, req));
    account::CustomerChange change;
    change.settings_patch = std::move(patch);
    CDN_TRY_VOID(account::update_customer(deps.db, deps.plans, deps.clock, customer, change));
    announce_config_change(deps.kv, customer.public_key);
    return answer_customer(deps, customer.id);
}

core::Result<http::Response> rotate_secret(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(customer, caller_customer(deps, req));
    CDN_TRY(secret, account::rotate_signing_secret(deps.db, deps.clock, customer));
    announce_config_change(deps.kv, customer.public_key);
    return json_response(200, json::object{{"signing_secret", secret}});
}

/** Percent-encodes an object path as a client sends it: unreserved characters and '/' stay. */
std::string encode_path(std::string_view path) {
    static constexpr char HEX[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(path.size());
    for (const char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                          c == '~' || c == '/';
        if (keep) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(HEX[c >> 4]);
            out.push_back(HEX[c & 0x0F]);
        }
    }
    return out;
}

/** The body of POST /customer/sign-url, its fields checked on their own. */
struct SignRequest {
    std::string path;
    /** The delivery options without a leading '?'. */
    std::string options;
    std::optional<std::int64_t> expires_in;
};

core::Result<SignRequest> read_sign_request(const http::Request& request) {
    CDN_TRY(body, JsonBody::read(request, {"path", "options", "expires_in"}));
    CDN_TRY(path, body.string("path", 1, MAX_SIGN_PATH_BYTES));
    if (auto valid = storage::validate_key(path); !valid) {
        return invalid_field("path", valid.error().message);
    }
    CDN_TRY(options, body.optional_string("options", 0, MAX_SIGN_OPTIONS_BYTES));
    CDN_TRY(expires_in, body.optional_integer("expires_in", 1, MAX_EXPIRES_IN_SECONDS));
    SignRequest out{.path = std::move(path), .options = options.value_or(""),
                    .expires_in = expires_in};
    if (out.options.starts_with('?')) {
        out.options.erase(0, 1);
    }
    return out;
}

/** The options of `request` as the edge will parse them: valid, unsigned, with one expiry at
 *  most and an existing preset. 422 naming `options` otherwise. */
core::Result<void> check_sign_options(ApiDeps& deps, const SignRequest& request,
                                      std::string_view customer_id) {
    const auto params = core::parse_query_string(request.options);
    if (!params) {
        return invalid_field("options", "is not a query string (a malformed %-escape)");
    }
    auto parsed = transform::parse_delivery_options(
        *params, static_cast<std::uint32_t>(deps.limits.max_output_dimension));
    if (!parsed) {
        return invalid_field("options", parsed.error().message);
    }
    if (parsed->signature) {
        return invalid_field("options", "s is added by signing, it cannot be given");
    }
    if (parsed->expires && request.expires_in) {
        return invalid_field("options", "give exp in options or expires_in, not both");
    }
    if (parsed->preset) {
        CDN_TRY(preset, db::PresetRepository(deps.db).find(customer_id, *parsed->preset));
        if (!preset) {
            return invalid_field("options", "no preset named " + *parsed->preset);
        }
    }
    return {};
}

/** The edge target `/{public_key}/{path}?{options}[&exp=...]` that gets signed. */
std::string sign_target(const ApiDeps& deps, const db::CustomerRecord& customer,
                        const SignRequest& request) {
    std::string query = request.options;
    if (request.expires_in) {
        query += query.empty() ? "" : "&";
        query += "exp=" + std::to_string(deps.clock.unix_seconds() + *request.expires_in);
    }
    std::string target = "/" + customer.public_key + "/" + encode_path(request.path);
    if (!query.empty()) {
        target += "?" + query;
    }
    return target;
}

core::Result<http::Response> sign_url(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(request, read_sign_request(req.http));
    CDN_TRY(customer, caller_customer(deps, req));
    CDN_TRY_VOID(check_sign_options(deps, request, customer.id));
    // The edge refuses signatures on a plan without signed URLs, unless the customer requires
    // them: such a URL would never work. The plan is the one the edge applies.
    const auto& plan = deps.plan_of(customer);
    if (!account::may_sign_urls(customer, plan)) {
        return core::make_error(Errc::FeatureNotInPlan,
                                "signed URLs are not in the " + plan.name + " plan");
    }
    auto signed_target =
        security::sign_url(sign_target(deps, customer, request), customer.signing_secret);
    if (!signed_target) {
        // Characters a client would encode differently (e.g. a space in options).
        return invalid_field("options", signed_target.error().message);
    }
    return json_response(200, json::object{{"url", deps.config.url_for(*signed_target)}});
}

} // namespace

void add_customer_routes(ApiRouter& router, ApiDeps& deps) {
    router.add({"GET", "/api/v1/customer", "getCustomer", Access::Customer,
                with_deps(deps, get_customer)});
    // Settings writes reload the customer on every edge node: limited like purges.
    router.add({"PATCH", "/api/v1/customer/settings", "patchSettings", Access::Customer,
                limit_per_customer(deps, "settings", with_deps(deps, patch_settings))});
    router.add({"POST", "/api/v1/customer/signing-secret/rotate", "rotateSigningSecret",
                Access::Customer,
                limit_per_customer(deps, "settings", with_deps(deps, rotate_secret))});
    router.add({"POST", "/api/v1/customer/sign-url", "signUrl", Access::Customer,
                with_deps(deps, sign_url)});
}

} // namespace cdn::api
