#include "api/keys/routes.h"

#include <algorithm>

#include "api/common/json.h"
#include "core/random.h"
#include "core/strings.h"
#include "db/api_key_repository.h"
#include "security/keys.h"

namespace cdn::api {
namespace {

/** Most keys one customer may hold; one more is 409 conflict. */
constexpr std::int64_t MAX_KEYS = 100;
constexpr std::size_t MAX_NAME_BYTES = 100;

/** The listed form: never the secret nor its hash. */
json::object key_json(const db::ApiKeyRecord& key) {
    json::object out{
        {"id", key.id},
        {"name", key.name},
        {"prefix", key.prefix},
        {"created_at", core::rfc3339(key.created_at)},
    };
    out["last_used_at"] =
        key.last_used_at ? json::value(core::rfc3339(*key.last_used_at)) : json::value(nullptr);
    return out;
}

/** The answer to create and rotate: the key with its secret, shown this once. */
json::object key_with_secret(const db::ApiKeyRecord& key, const std::string& secret) {
    json::object out{
        {"id", key.id},
        {"name", key.name},
        {"prefix", key.prefix},
        {"created_at", core::rfc3339(key.created_at)},
        {"secret", secret},
    };
    return out;
}

/** The `{name}` body of POST /keys: printable text, not only spaces. */
core::Result<std::string> read_key_name(const http::Request& request) {
    CDN_TRY(body, JsonBody::read(request, {"name"}));
    CDN_TRY(name, body.string("name", 1, MAX_NAME_BYTES));
    const bool control = std::any_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (control || core::trim(name).empty()) {
        return body.invalid("name", "must be printable text, not only spaces");
    }
    return name;
}

core::Result<http::Response> list_keys(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(keys, db::ApiKeyRepository(deps.db).list_for_customer(req.caller().customer_id));
    json::array items;
    for (const auto& key : keys) {
        items.emplace_back(key_json(key));
    }
    return json_response(200, json::object{{"items", std::move(items)}, {"next_cursor", nullptr}});
}

core::Result<http::Response> create_key(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(name, read_key_name(req.http));
    const auto& customer_id = req.caller().customer_id;
    const auto secret = security::generate_api_key();
    const db::ApiKeyRecord key{.id = "key_" + core::random_base62(20),
                               .customer_id = customer_id,
                               .name = std::move(name),
                               .prefix = secret.prefix,
                               .secret_hash = secret.hash,
                               .created_at = deps.clock.unix_seconds(),
                               .last_used_at = std::nullopt};
    CDN_TRY_VOID(deps.db.transaction([&](db::Database& tx) -> core::Result<void> {
        db::ApiKeyRepository repo(tx);
        CDN_TRY(count, repo.count_for_customer(customer_id));
        if (count >= MAX_KEYS) {
            return core::make_error(core::Errc::Conflict,
                                    "an account has at most " + std::to_string(MAX_KEYS) +
                                        " API keys: delete one first");
        }
        return repo.insert(key);
    }));
    return json_response(201, key_with_secret(key, secret.secret));
}

core::Result<http::Response> rotate_key(ApiDeps& deps, ApiRequest& req) {
    const auto& customer_id = req.caller().customer_id;
    const std::string id(req.param("id"));
    const auto secret = security::generate_api_key();
    std::optional<db::ApiKeyRecord> key;
    CDN_TRY_VOID(deps.db.transaction([&](db::Database& tx) -> core::Result<void> {
        db::ApiKeyRepository repo(tx);
        CDN_TRY_VOID(repo.replace_secret(customer_id, id, secret.prefix, secret.hash));
        CDN_TRY(found, repo.find_by_id(customer_id, id));
        key = std::move(found);
        return {};
    }));
    if (!key) {
        return core::make_error(core::Errc::NotFound, "api key not found");
    }
    return json_response(200, key_with_secret(*key, secret.secret));
}

core::Result<http::Response> delete_key(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY_VOID(db::ApiKeyRepository(deps.db).remove(req.caller().customer_id, req.param("id")));
    return no_content();
}

} // namespace

void add_keys_routes(ApiRouter& router, ApiDeps& deps) {
    router.add({"GET", "/api/v1/keys", "listKeys", Access::Customer, with_deps(deps, list_keys)});
    router.add({"POST", "/api/v1/keys", "createKey", Access::Customer,
                with_deps(deps, create_key)});
    router.add({"POST", "/api/v1/keys/{id}/rotate", "rotateKey", Access::Customer,
                with_deps(deps, rotate_key)});
    router.add({"DELETE", "/api/v1/keys/{id}", "deleteKey", Access::Customer,
                with_deps(deps, delete_key)});
}

} // namespace cdn::api
