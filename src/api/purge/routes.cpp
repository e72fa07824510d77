#include "api/purge/routes.h"

#include <string>
#include <vector>

#include "api/common/announce.h"
#include "api/common/customer_json.h"
#include "api/common/json.h"
#include "api/common/tenant_limits.h"
#include "cache/purge.h"
#include "core/strings.h"
#include "storage/key.h"

namespace cdn::api {
namespace {

/** Paths one `POST /purge` may name. */
constexpr std::size_t MAX_PURGE_PATHS = 1000;
/** 1,000 paths of up to 1,024 bytes each: more than json_body()'s 64 KiB. */
constexpr std::size_t MAX_PURGE_BODY_BYTES = 2 * 1024 * 1024;

/** A prefix is the beginning of a path: it may end with '/' or stop inside a segment, but holds
 *  nothing a path may not (a leading '/', a backslash, a control character, an empty, "." or
 *  ".." segment), so what it matches is always inside the customer's namespace. */
core::Result<void> check_prefix(const JsonBody& fields, std::string_view prefix) {
    const auto without_slash = prefix.ends_with('/') ? prefix.substr(0, prefix.size() - 1) : prefix;
    if (without_slash.empty() || !storage::validate_key(without_slash)) {
        return fields.invalid("prefix", "is not a valid path prefix");
    }
    return {};
}

/** The body of POST /purge: exactly one of {paths}, {prefix}, {all: true}. */
core::Result<cache::PurgeRequest> parse_purge(const JsonBody& fields,
                                              const std::string& public_key) {
    const auto& body = fields.object();
    if (body.size() != 1) {
        return core::make_error(core::Errc::InvalidRequest,
                                "give exactly one of paths, prefix or all");
    }
    cache::PurgeRequest purge{.public_key = public_key};
    if (const auto* paths = body.if_contains("paths")) {
        if (!paths->is_array() || paths->get_array().empty() ||
            paths->get_array().size() > MAX_PURGE_PATHS) {
            return fields.invalid("paths", "must be a list of 1 to 1000 paths");
        }
        purge.scope = cache::PurgeRequest::Scope::Paths;
        for (std::size_t i = 0; i < paths->get_array().size(); ++i) {
            const auto& path = paths->get_array()[i];
            if (!path.is_string() || !storage::validate_key(path.get_string())) {
                return fields.invalid("paths", "item " + std::to_string(i) +
                                                   " is not a valid image path");
            }
            purge.paths.emplace_back(path.get_string());
        }
    } else if (body.contains("prefix")) {
        CDN_TRY(prefix, fields.string("prefix", 1, storage::MAX_KEY_BYTES));
        CDN_TRY_VOID(check_prefix(fields, prefix));
        purge.scope = cache::PurgeRequest::Scope::Prefix;
        purge.prefix = std::move(prefix);
    } else {
        CDN_TRY(all, fields.optional_bool("all"));
        if (!all || !*all) {
            return fields.invalid("all", "must be true");
        }
        purge.scope = cache::PurgeRequest::Scope::All;
    }
    return purge;
}

/**
 * POST /purge: announced on the KV purge channel, which every edge node (this one included)
 * applies to its memory and disk tiers. 202: the drop is asynchronous on other nodes. Limited
 * per customer ([limits] purge_requests_per_minute, see add_purge_routes).
 */
core::Result<http::Response> post_purge(ApiDeps& deps, ApiRequest& request) {
    CDN_TRY(body, JsonBody::read(request.http, {"paths", "prefix", "all"},
                                 {.max_bytes = MAX_PURGE_BODY_BYTES}));
    CDN_TRY(customer, caller_customer(deps, request));
    CDN_TRY(purge, parse_purge(body, customer.public_key));
    announce_purge(deps.kv, purge);
    json::object answer{{"purged", cache::scope_name(purge.scope)}};
    if (purge.scope == cache::PurgeRequest::Scope::Paths) {
        answer["paths"] = purge.paths.size();
    }
    return json_response(202, answer);
}

} // namespace

void add_purge_routes(ApiRouter& router, ApiDeps& deps) {
    router.add({.method = "POST",
                .pattern = "/api/v1/purge",
                .operation_id = "purge",
                .access = Access::Customer,
                .handler = limit_per_customer(deps, "purge", with_deps(deps, post_purge))});
}

} // namespace cdn::api
