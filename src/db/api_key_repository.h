#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/** One row of `api_keys`. The secret itself is never stored, only its hash. */
struct ApiKeyRecord {
    std::string id;
    std::string customer_id;
    std::string name;
    /** The short public part of the key, used to find the row before the constant-time
     *  comparison of the secret. Unique. */
    std::string prefix;
    std::string secret_hash;
    /** Unix seconds. */
    std::int64_t created_at = 0;
    /** Unix seconds; absent until the key is first used. */
    std::optional<std::int64_t> last_used_at;
};

/** API keys. Works on a Database or on a transaction handle. */
class ApiKeyRepository {
public:
    /** (key id, unix seconds it was used). */
    using Use = std::pair<std::string, std::int64_t>;

    explicit ApiKeyRepository(Database& db) : db_(db) {}

    /** Errc::Conflict when the id or prefix is taken. */
    core::Result<void> insert(const ApiKeyRecord& key);

    core::Result<std::optional<ApiKeyRecord>> find_by_prefix(std::string_view prefix);

    /** Key `id` only if `customer_id` owns it: another customer's key is not found. */
    core::Result<std::optional<ApiKeyRecord>> find_by_id(std::string_view customer_id,
                                                         std::string_view id);

    /** How many keys the customer has. */
    core::Result<std::int64_t> count_for_customer(std::string_view customer_id);

    /**
     * Rotation: gives key `id` (owned by `customer_id`) a new prefix and secret hash, so the
     * old secret stops matching at once; id, name and created_at stay, last_used_at is cleared.
     * Errc::NotFound when the customer has no such key, Errc::Conflict when the prefix is taken.
     */
    core::Result<void> replace_secret(std::string_view customer_id, std::string_view id,
                                      std::string_view prefix, std::string_view secret_hash);

    /** The customer's keys, oldest first. */
    core::Result<std::vector<ApiKeyRecord>> list_for_customer(std::string_view customer_id);

    /** Deletes key `id` only if `customer_id` owns it; Errc::NotFound otherwise. */
    core::Result<void> remove(std::string_view customer_id, std::string_view id);

    /**
     * Records a batch of uses in one transaction. A timestamp never moves backwards, and ids
     * of keys deleted meanwhile are skipped.
     */
    core::Result<void> touch_last_used(const std::vector<Use>& uses);

private:
    Database& db_;
};

} // namespace cdn::db
