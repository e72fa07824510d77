#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/** One row of `originals`: what the API knows of an original in the object store (its bytes
 *  live at `{public_key}/{path}` in the store, not here). */
struct OriginalRecord {
    std::string path;
    std::int64_t bytes = 0;
    /** The MIME type sniffed from the content (never the name or a client's header). */
    std::string content_type;
    /** Pixels, from the header; absent when unknown. */
    std::optional<std::int64_t> width;
    std::optional<std::int64_t> height;
    /** The store's strong validator for these bytes (unquoted). */
    std::string etag;
    /** Unix seconds: when the path was first stored. */
    std::int64_t created_at = 0;
    /** Unix seconds: when its current version was stored. */
    std::int64_t updated_at = 0;
};

/**
 * A customer's originals, ordered and paged by path in byte order on every backend (PostgreSQL's
 * column has the "C" collation, SQLite's default is already byte order). Works on a Database or on
 * a transaction handle. Every call is scoped to one customer.
 */
class OriginalRepository {
public:
    explicit OriginalRepository(Database& db) : db_(db) {}

    core::Result<std::optional<OriginalRecord>> find(std::string_view customer_id,
                                                     std::string_view path);

    /**
     * Creates the row, or replaces every column of the existing one except `created_at`, which
     * keeps the first version's time. The customer must exist (foreign key).
     */
    core::Result<void> upsert(std::string_view customer_id, const OriginalRecord& original);

    /** Deletes the row; false when there was none. */
    core::Result<bool> remove(std::string_view customer_id, std::string_view path);

    /**
     * At most `limit` originals whose path starts with `prefix` and is greater than `after`
     * (byte order), in path order. Keyset pagination: pass the last path of a page as `after`
     * for the next one; rows added or removed meanwhile never shift a page.
     */
    core::Result<std::vector<OriginalRecord>> list(std::string_view customer_id,
                                                   std::string_view prefix,
                                                   std::string_view after, std::size_t limit);

    /** Sum of `bytes` over the customer's originals (the storage quota's measure). */
    core::Result<std::int64_t> total_bytes(std::string_view customer_id);

private:
    Database& db_;
};

/** An exclusive upper bound, in byte order, of the strings that start with `prefix`: the prefix
 *  cut after its last ASCII byte below 0x7F, that byte plus one (so valid UTF-8 whenever
 *  `prefix` is). nullopt when it has no such byte. A range bound that lets a prefix listing read
 *  only its own rows; the exact prefix test is still applied. */
std::optional<std::string> prefix_upper_bound(std::string_view prefix);

} // namespace cdn::db
