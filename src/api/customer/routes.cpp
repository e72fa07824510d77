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

http::Response answer_customer(const ApiDeps& deps, std::string_view customer_id) {
    auto customer = load_customer(deps.db, customer_id);
    if (!customer) {
        return error_response(customer.error());
    }
    auto body = full_customer_json(deps, *customer);
    if (!body) {
        return error_response(body.error());
    }
    return json_response(200, *body);
}

http::Response get_customer(ApiDeps& deps, ApiRequest& req) {
    return answer_customer(deps, req.caller().customer_id);
}

http::Response patch_settings(ApiDeps& deps, ApiRequest& req) {
    auto body = json_body(req.http);
    if (!body) {
        return error_response(body.error());
    }
    auto customer = load_customer(deps.db, req.caller().customer_id);
    if (!customer) {
        return error_response(customer.error());
    }
    account::CustomerChange change;
    change.settings_patch = std::move(*body);
    if (auto updated = account::update_customer(deps.db, deps.plans, deps.clock, *customer, change);
        !updated) {
        return error_response(updated.error());
    }
    announce_config_change(deps.kv, customer->public_key);
    return answer_customer(deps, customer->id);
}

http::Response rotate_secret(ApiDeps& deps, ApiRequest& req) {
    auto customer = load_customer(deps.db, req.caller().customer_id);
    if (!customer) {
        return error_response(customer.error());
    }
    auto secret = account::rotate_signing_secret(deps.db, deps.clock, *customer);
    if (!secret) {
        return error_response(secret.error());
    }
    announce_config_change(deps.kv, customer->public_key);
    return json_response(200, json::object{{"signing_secret", *secret}});
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

struct SignRequest {
    std::string path;
    std::string options;
    std::optional<std::int64_t> expires_in;
};

core::Result<SignRequest> parse_sign_request(ApiDeps& deps, const json::object& body,
                                             std::string_view customer_id) {
    const Fields fields(body);
    CDN_TRY_VOID(fields.only({"path", "options", "expires_in"}));
    SignRequest out;
    CDN_TRY(path, fields.string("path", 1, MAX_SIGN_PATH_BYTES));
    if (auto valid = storage::validate_key(path); !valid) {
        return fields.invalid("path", valid.error().message);
    }
    out.path = std::move(path);
    CDN_TRY(options, fields.optional_string("options", 0, MAX_SIGN_OPTIONS_BYTES));
    out.options = options.value_or("");
    if (out.options.starts_with('?')) {
        out.options.erase(0, 1);
    }
    CDN_TRY(expires_in, fields.optional_integer("expires_in", 1, MAX_EXPIRES_IN_SECONDS));
    out.expires_in = expires_in;

    const auto params = core::parse_query_string(out.options);
    if (!params) {
        return fields.invalid("options", "is not a query string (a malformed %-escape)");
    }
    auto parsed = transform::parse_delivery_options(
        *params, static_cast<std::uint32_t>(deps.limits.max_output_dimension));
    if (!parsed) {
        return fields.invalid("options", parsed.error().message);
    }
    if (parsed->signature) {
        return fields.invalid("options", "s is added by signing, it cannot be given");
    }
    if (parsed->expires && out.expires_in) {
        return fields.invalid("options", "give exp in options or expires_in, not both");
    }
    if (parsed->preset) {
        CDN_TRY(preset, db::PresetRepository(deps.db).find(customer_id, *parsed->preset));
        if (!preset) {
            return fields.invalid("options", "no preset named " + *parsed->preset);
        }
    }
    return out;
}

http::Response sign_url(ApiDeps& deps, ApiRequest& req) {
    auto body = json_body(req.http);
    if (!body) {
        return error_response(body.error());
    }
    auto customer = load_customer(deps.db, req.caller().customer_id);
    if (!customer) {
        return error_response(customer.error());
    }
    auto request = parse_sign_request(deps, *body, customer->id);
    if (!request) {
        return error_response(request.error());
    }
    // The edge refuses signatures on a plan without signed URLs, unless the customer requires
    // them: such a URL would never work. The plan is the one the edge applies.
    const auto& plan = deps.plan_of(*customer);
    if (!account::may_sign_urls(*customer, plan)) {
        return error_response(core::make_error(
            Errc::FeatureNotInPlan, "signed URLs are not in the " + plan.name + " plan"));
    }
    std::string query = request->options;
    if (request->expires_in) {
        query += query.empty() ? "" : "&";
        query += "exp=" + std::to_string(deps.clock.unix_seconds() + *request->expires_in);
    }
    std::string target = "/" + customer->public_key + "/" + encode_path(request->path);
    if (!query.empty()) {
        target += "?" + query;
    }
    auto signed_target = security::sign_url(target, customer->signing_secret);
    if (!signed_target) {
        // Characters a client would encode differently (e.g. a space in options).
        return error_response(Fields(*body).invalid("options", signed_target.error().message));
    }
    return json_response(200, json::object{{"url", deps.config.url_for(*signed_target)}});
}

} // namespace

void add_customer_routes(ApiRouter& router, ApiDeps& deps) {
    router.add({"GET", "/api/v1/customer", Access::Customer,
                [&deps](ApiRequest& req) { return get_customer(deps, req); }});
    // Settings writes reload the customer on every edge node: limited like purges.
    router.add({"PATCH", "/api/v1/customer/settings", Access::Customer,
                limit_per_customer(deps, "settings", [&deps](ApiRequest& req) {
                    return patch_settings(deps, req);
                })});
    router.add({"POST", "/api/v1/customer/signing-secret/rotate", Access::Customer,
                limit_per_customer(deps, "settings", [&deps](ApiRequest& req) {
                    return rotate_secret(deps, req);
                })});
    router.add({"POST", "/api/v1/customer/sign-url", Access::Customer,
                [&deps](ApiRequest& req) { return sign_url(deps, req); }});
}

} // namespace cdn::api
