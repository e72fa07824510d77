#include "db/original_repository.h"

#include <string>

#include "db/values.h"

namespace cdn::db {
namespace {

constexpr std::string_view COLUMNS =
    "path, bytes, content_type, width, height, etag, created_at, updated_at";

// created_at is left alone on conflict: it is when the path was first stored. The
// ON CONFLICT ... excluded form is valid in SQLite >= 3.24 and PostgreSQL alike.
constexpr std::string_view UPSERT =
    "INSERT INTO originals (customer_id, path, bytes, content_type, width, height, etag, "
    "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (customer_id, path) DO UPDATE SET bytes = excluded.bytes, "
    "content_type = excluded.content_type, width = excluded.width, height = excluded.height, "
    "etag = excluded.etag, updated_at = excluded.updated_at";

OriginalRecord to_original(const Row& row) {
    OriginalRecord original;
    original.path = row.text(0).value_or("");
    original.bytes = row.integer(1).value_or(0);
    original.content_type = row.text(2).value_or("");
    original.width = row.integer(3);
    original.height = row.integer(4);
    original.etag = row.text(5).value_or("");
    original.created_at = row.integer(6).value_or(0);
    original.updated_at = row.integer(7).value_or(0);
    return original;
}

} // namespace

std::optional<std::string> prefix_upper_bound(std::string_view prefix) {
    for (std::size_t i = prefix.size(); i > 0; --i) {
        const auto byte = static_cast<unsigned char>(prefix[i - 1]);
        if (byte < 0x7F) {
            std::string bound(prefix.substr(0, i));
            bound.back() = static_cast<char>(byte + 1);
            return bound;
        }
    }
    return std::nullopt;
}

core::Result<std::optional<OriginalRecord>> OriginalRepository::find(std::string_view customer_id,
                                                                     std::string_view path) {
    CDN_TRY(rows, db_.query(std::string("SELECT ").append(COLUMNS).append(
                                " FROM originals WHERE customer_id = $1 AND path = $2"),
                            {text_value(customer_id), text_value(path)}));
    if (rows.empty()) {
        return std::optional<OriginalRecord>();
    }
    return std::optional<OriginalRecord>(to_original(rows.front()));
}

core::Result<void> OriginalRepository::upsert(std::string_view customer_id,
                                              const OriginalRecord& original) {
    CDN_TRY_VOID(db_.execute(UPSERT, {text_value(customer_id), original.path, original.bytes,
                                      original.content_type, nullable(original.width),
                                      nullable(original.height), original.etag,
                                      original.created_at, original.updated_at}));
    return {};
}

core::Result<bool> OriginalRepository::remove(std::string_view customer_id,
                                              std::string_view path) {
    CDN_TRY(removed, db_.execute("DELETE FROM originals WHERE customer_id = $1 AND path = $2",
                                 {text_value(customer_id), text_value(path)}));
    return removed > 0;
}

core::Result<std::vector<OriginalRecord>> OriginalRepository::list(std::string_view customer_id,
                                                                   std::string_view prefix,
                                                                   std::string_view after,
                                                                   std::size_t limit) {
    // Byte order on both backends (migration 5 gives PostgreSQL's column the "C" collation), so
    // the primary key's index serves the order and a cursor compares as the rows are sorted.
    std::string sql = std::string("SELECT ").append(COLUMNS).append(" FROM originals WHERE ");
    sql += "customer_id = $1 AND path > $2";
    std::vector<Value> params{text_value(customer_id), text_value(after),
                              static_cast<std::int64_t>(limit)};
    if (!prefix.empty()) {
        params.push_back(text_value(prefix));
        sql += " AND path >= $4 AND substr(path, 1, length($4)) = $4";
        if (auto bound = prefix_upper_bound(prefix)) {
            params.push_back(std::move(*bound));
            sql += " AND path < $5";
        }
    }
    sql += " ORDER BY path LIMIT $3";
    CDN_TRY(rows, db_.query(sql, std::move(params)));
    std::vector<OriginalRecord> originals;
    originals.reserve(rows.size());
    for (const auto& row : rows) {
        originals.push_back(to_original(row));
    }
    return originals;
}

core::Result<std::int64_t> OriginalRepository::total_bytes(std::string_view customer_id) {
    // CAST: PostgreSQL's SUM of a BIGINT is NUMERIC.
    CDN_TRY(rows, db_.query("SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM originals "
                            "WHERE customer_id = $1",
                            {text_value(customer_id)}));
    return rows.empty() ? std::int64_t{0} : rows.front().integer(0).value_or(0);
}

} // namespace cdn::db
