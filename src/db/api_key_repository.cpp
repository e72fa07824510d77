#include "db/api_key_repository.h"

#include "db/values.h"

namespace cdn::db {
namespace {

ApiKeyRecord to_api_key(const Row& row) {
    ApiKeyRecord key;
    key.id = row.text(0).value_or("");
    key.customer_id = row.text(1).value_or("");
    key.name = row.text(2).value_or("");
    key.prefix = row.text(3).value_or("");
    key.secret_hash = row.text(4).value_or("");
    key.created_at = row.integer(5).value_or(0);
    key.last_used_at = row.integer(6);
    return key;
}

} // namespace

core::Result<void> ApiKeyRepository::insert(const ApiKeyRecord& key) {
    CDN_TRY_VOID(
        db_.execute("INSERT INTO api_keys (id, customer_id, name, prefix, secret_hash, created_at, "
                    "last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    {key.id, key.customer_id, key.name, key.prefix, key.secret_hash, key.created_at,
                     nullable(key.last_used_at)}));
    return {};
}

core::Result<std::optional<ApiKeyRecord>>
ApiKeyRepository::find_by_prefix(std::string_view prefix) {
    CDN_TRY(rows, db_.query("SELECT id, customer_id, name, prefix, secret_hash, created_at, "
                            "last_used_at FROM api_keys WHERE prefix = $1",
                            {text_value(prefix)}));
    if (rows.empty()) {
        return std::optional<ApiKeyRecord>();
    }
    return std::optional<ApiKeyRecord>(to_api_key(rows.front()));
}

core::Result<std::optional<ApiKeyRecord>>
ApiKeyRepository::find_by_id(std::string_view customer_id, std::string_view id) {
    CDN_TRY(rows, db_.query("SELECT id, customer_id, name, prefix, secret_hash, created_at, "
                            "last_used_at FROM api_keys WHERE id = $1 AND customer_id = $2",
                            {text_value(id), text_value(customer_id)}));
    if (rows.empty()) {
        return std::optional<ApiKeyRecord>();
    }
    return std::optional<ApiKeyRecord>(to_api_key(rows.front()));
}

core::Result<std::int64_t> ApiKeyRepository::count_for_customer(std::string_view customer_id) {
    CDN_TRY(rows, db_.query("SELECT COUNT(*) FROM api_keys WHERE customer_id = $1",
                            {text_value(customer_id)}));
    return rows.empty() ? 0 : rows.front().integer(0).value_or(0);
}

core::Result<void> ApiKeyRepository::replace_secret(std::string_view customer_id,
                                                    std::string_view id, std::string_view prefix,
                                                    std::string_view secret_hash) {
    CDN_TRY(changed, db_.execute("UPDATE api_keys SET prefix = $3, secret_hash = $4, "
                                 "last_used_at = NULL WHERE id = $1 AND customer_id = $2",
                                 {text_value(id), text_value(customer_id), text_value(prefix),
                                  text_value(secret_hash)}));
    if (changed == 0) {
        return core::make_error(core::Errc::NotFound, "api key not found",
                                "no api key " + std::string(id) + " for this customer");
    }
    return {};
}

core::Result<std::vector<ApiKeyRecord>>
ApiKeyRepository::list_for_customer(std::string_view customer_id) {
    CDN_TRY(rows, db_.query("SELECT id, customer_id, name, prefix, secret_hash, created_at, "
                            "last_used_at FROM api_keys WHERE customer_id = $1 "
                            "ORDER BY created_at, id",
                            {text_value(customer_id)}));
    std::vector<ApiKeyRecord> keys;
    keys.reserve(rows.size());
    for (const auto& row : rows) {
        keys.push_back(to_api_key(row));
    }
    return keys;
}

core::Result<void> ApiKeyRepository::remove(std::string_view customer_id, std::string_view id) {
    CDN_TRY(removed, db_.execute("DELETE FROM api_keys WHERE id = $1 AND customer_id = $2",
                                 {text_value(id), text_value(customer_id)}));
    if (removed == 0) {
        return core::make_error(core::Errc::NotFound, "api key not found",
                                "no api key " + std::string(id) + " for this customer");
    }
    return {};
}

core::Result<void> ApiKeyRepository::touch_last_used(const std::vector<Use>& uses) {
    if (uses.empty()) {
        return {};
    }
    return db_.transaction([&](Database& tx) -> core::Result<void> {
        for (const auto& [id, used_at] : uses) {
            // Batches from several nodes may arrive out of order: keep the latest.
            CDN_TRY_VOID(tx.execute("UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND "
                                    "(last_used_at IS NULL OR last_used_at < $2)",
                                    {id, used_at}));
        }
        return {};
    });
}

} // namespace cdn::db
