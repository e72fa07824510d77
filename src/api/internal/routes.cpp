#include "api/internal/routes.h"

#include <algorithm>
#include <limits>
#include <tuple>
#include <string>
#include <vector>

#include "api/common/announce.h"
#include "api/common/json.h"
#include "cache/purge.h"
#include "core/strings.h"
#include "db/customer_repository.h"
#include "db/preset_repository.h"
#include "db/usage_repository.h"
#include "kv/node_announcement.h"

namespace cdn::api {
namespace {

/** Rows one usage batch may carry (an edge node flushes one row per customer and hour). */
constexpr std::size_t MAX_USAGE_ITEMS = 10'000;
/** 10,000 items of about 150 bytes each, with room to spare. */
constexpr std::size_t MAX_USAGE_BODY_BYTES = 4 * 1024 * 1024;
/** A purge of 1,000 paths of up to 1,024 bytes each. */
constexpr std::size_t MAX_PURGE_BODY_BYTES = 2 * 1024 * 1024;
/** Longest customer id accepted in a usage item (ids are far shorter). */
constexpr std::size_t MAX_CUSTOMER_ID_BYTES = 128;

/**
 * What an edge node needs to serve a customer: the row (the signing secret included: edge
 * nodes verify signed URLs), the settings object as stored, custom domains and presets.
 */
core::Result<json::object> customer_document(db::Database& db, const db::CustomerRecord& customer) {
    boost::system::error_code ec;
    auto settings = json::parse(customer.settings_json, ec);
    CDN_TRY(domains, db::CustomerRepository(db).list_custom_domains(customer.id));
    CDN_TRY(presets, db::PresetRepository(db).list(customer.id));
    json::array domain_list;
    for (auto& host : domains) {
        domain_list.emplace_back(std::move(host));
    }
    json::object preset_map;
    for (auto& preset : presets) {
        preset_map[preset.name] = std::move(preset.options);
    }
    return json::object{
        {"customer",
         json::object{
             {"id", customer.id},
             {"public_key", customer.public_key},
             {"email", customer.email},
             {"plan", customer.plan},
             {"suspended", customer.suspended},
             {"billing_status", customer.billing_status},
             {"signing_secret", customer.signing_secret},
             {"settings", ec || !settings.is_object() ? json::object{} : settings},
         }},
        {"custom_domains", std::move(domain_list)},
        {"presets", std::move(preset_map)},
    };
}

core::Result<http::Response>
answer_customer(db::Database& db, const core::Result<std::optional<db::CustomerRecord>>& found) {
    CDN_TRY(customer, found);
    if (!customer) {
        return core::make_error(core::Errc::UnknownCustomer, "unknown customer");
    }
    CDN_TRY(document, customer_document(db, *customer));
    return json_response(200, document);
}

/** GET /internal/v1/customers/{public_key}. */
core::Result<http::Response> get_customer_by_key(ApiDeps& deps, ApiRequest& request) {
    return answer_customer(
        deps.db, db::CustomerRepository(deps.db).find_by_public_key(request.param("public_key")));
}

/** GET /internal/v1/hosts/{host}: the customer serving a custom domain (hosts are stored
 *  lower-cased; a port is not part of the host). */
core::Result<http::Response> get_customer_by_host(ApiDeps& deps, ApiRequest& request) {
    const auto host = core::to_lower(request.param("host"));
    return answer_customer(deps.db, db::CustomerRepository(deps.db).find_by_custom_domain(host));
}

/** The counter of `delta` a usage item's member `name` sets; nullptr for another name. */
std::int64_t* counter_of(db::UsageDelta& delta, std::string_view name) {
    return name == "hour"         ? &delta.hour
           : name == "requests"   ? &delta.requests
           : name == "bytes_out"  ? &delta.bytes_out
           : name == "transforms" ? &delta.transforms
           : name == "cache_hits" ? &delta.cache_hits
           : name == "errors"     ? &delta.errors
                                  : nullptr;
}

/** `number` when it is an integer from 0 to INT64_MAX. */
std::optional<std::int64_t> non_negative(const json::value& number) {
    if (number.is_int64() && number.get_int64() >= 0) {
        return number.get_int64();
    }
    constexpr auto MAX = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (number.is_uint64() && number.get_uint64() <= MAX) {
        return static_cast<std::int64_t>(number.get_uint64());
    }
    return std::nullopt;
}

/** One item of a usage batch; errors name the field as `items[i].name`. */
core::Result<db::UsageDelta> parse_usage_item(const json::value& value, std::size_t index) {
    const auto item = "items[" + std::to_string(index) + "]";
    if (!value.is_object()) {
        return invalid_field(item, "must be an object");
    }
    const auto invalid = [&item](std::string_view name, std::string message) {
        return invalid_field(item + "." + std::string(name), std::move(message));
    };
    db::UsageDelta delta;
    bool has_hour = false; // customer_id is never empty once given
    for (const auto& member : value.get_object()) {
        const auto name = member.key();
        if (name == "customer_id") {
            const auto& id = member.value();
            if (!id.is_string() || id.get_string().empty() ||
                id.get_string().size() > MAX_CUSTOMER_ID_BYTES) {
                return invalid(name, "must be a string of 1 to 128 bytes");
            }
            delta.customer_id = std::string(id.get_string());
            continue;
        }
        auto* counter = counter_of(delta, name);
        if (counter == nullptr) {
            return invalid(name, "is not a known field");
        }
        const auto count = non_negative(member.value());
        if (!count) {
            return invalid(name, "must be a non-negative integer");
        }
        *counter = *count;
        has_hour = has_hour || name == "hour";
    }
    if (delta.customer_id.empty()) {
        return invalid("customer_id", "is required");
    }
    if (!has_hour) {
        return invalid("hour", "is required");
    }
    return delta;
}

/** The `{items}` of an edge node's usage flush, validated whole. */
core::Result<std::vector<db::UsageDelta>> read_usage_batch(const http::Request& request) {
    CDN_TRY(body, JsonBody::read(request, {"items"}, {.max_bytes = MAX_USAGE_BODY_BYTES}));
    const auto* items = body.object().if_contains("items");
    if (items == nullptr || !items->is_array() || items->get_array().size() > MAX_USAGE_ITEMS) {
        return body.invalid("items", "must be a list of at most 10000 items");
    }
    std::vector<db::UsageDelta> deltas;
    deltas.reserve(items->get_array().size());
    for (std::size_t i = 0; i < items->get_array().size(); ++i) {
        CDN_TRY(delta, parse_usage_item(items->get_array()[i], i));
        deltas.push_back(std::move(delta));
    }
    return deltas;
}

/**
 * POST /internal/v1/usage: an edge node's flush, added to usage_hourly in one transaction
 * (all or nothing, as a local flush). A batch is validated whole before anything is written.
 */
core::Result<http::Response> post_usage(ApiDeps& deps, ApiRequest& request) {
    CDN_TRY(deltas, read_usage_batch(request.http));
    CDN_TRY_VOID(db::UsageRepository(deps.db).add_hourly(deltas));
    return json_response(202, json::object{{"accepted", deltas.size()}});
}

/** POST /internal/v1/purge: a purge (cache::encode_purge's JSON) fanned out on the KV purge
 *  channel, for nodes that cannot publish on it themselves. */
core::Result<http::Response> post_purge(ApiDeps& deps, ApiRequest& request) {
    // Parsed once for the common answers (415, 413, 400), then strictly by decode_purge.
    CDN_TRY_VOID(json_body(request.http, false, MAX_PURGE_BODY_BYTES));
    CDN_TRY(purge, cache::decode_purge(request.http.body));
    announce_purge(deps.kv, purge);
    return json_response(202, json::object{{"purged", cache::scope_name(purge.scope)}});
}

/** The node as it announces itself, flagged when its fingerprint is not `fingerprint`. */
json::object node_document(const kv::NodeAnnouncement& node, const std::string& fingerprint) {
    auto document = json::parse(kv::encode_announcement(node)).as_object();
    document["config_matches"] = node.config_fingerprint == fingerprint;
    return document;
}

/** GET /internal/v1/nodes: the live nodes as they announce themselves in the KV store, oldest
 *  first, each flagged when its config fingerprint differs from this node's (a node configured
 *  apart: another database, bucket, secret or plan table). */
core::Result<http::Response> get_nodes(ApiDeps& deps, ApiRequest&) {
    CDN_TRY(values, deps.kv.values_with_prefix(kv::NODE_KEY_PREFIX));
    std::vector<kv::NodeAnnouncement> nodes;
    for (const auto& value : values) {
        if (auto node = kv::decode_announcement(value.value)) {
            nodes.push_back(std::move(*node));
        }
    }
    std::ranges::sort(nodes, [](const auto& a, const auto& b) {
        return std::tie(a.started_at, a.id) < std::tie(b.started_at, b.id);
    });
    const auto& fingerprint = deps.config.config_fingerprint;
    json::array list;
    std::size_t mismatched = 0;
    for (const auto& node : nodes) {
        mismatched += node.config_fingerprint == fingerprint ? 0 : 1;
        list.emplace_back(node_document(node, fingerprint));
    }
    return json_response(200, json::object{{"config_fingerprint", fingerprint},
                                           {"mismatched", mismatched},
                                           {"nodes", std::move(list)}});
}

} // namespace

void add_internal_routes(ApiRouter& router, ApiDeps& deps) {
    router.add({.method = "GET",
                .pattern = "/internal/v1/customers/{public_key}",
                .operation_id = "internalCustomerByKey",
                .access = Access::Internal,
                .handler = with_deps(deps, get_customer_by_key)});
    router.add({.method = "GET",
                .pattern = "/internal/v1/hosts/{host}",
                .operation_id = "internalCustomerByHost",
                .access = Access::Internal,
                .handler = with_deps(deps, get_customer_by_host)});
    router.add({.method = "POST",
                .pattern = "/internal/v1/usage",
                .operation_id = "internalUsage",
                .access = Access::Internal,
                .handler = with_deps(deps, post_usage),
                // Edges' batches are larger than a customer's JSON; the secret is checked first.
                .body_limit = fixed_body_limit(MAX_USAGE_BODY_BYTES)});
    router.add({.method = "GET",
                .pattern = "/internal/v1/nodes",
                .operation_id = "internalNodes",
                .access = Access::Internal,
                .handler = with_deps(deps, get_nodes)});
    router.add({.method = "POST",
                .pattern = "/internal/v1/purge",
                .operation_id = "internalPurge",
                .access = Access::Internal,
                .handler = with_deps(deps, post_purge),
                .body_limit = fixed_body_limit(MAX_PURGE_BODY_BYTES)});
}

} // namespace cdn::api
