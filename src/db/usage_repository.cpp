#include "db/usage_repository.h"

#include "db/values.h"

#include <algorithm>
#include <bit>
#include <map>
#include <utility>

namespace cdn::db {
namespace {

constexpr std::int64_t SECONDS_PER_HOUR = 3600;
constexpr std::int64_t SECONDS_PER_DAY = 86'400;

// Rows are hours already (the primary key is customer and hour): no grouping needed.
constexpr std::string_view HOURLY_SERIES =
    "SELECT hour, requests, bytes_out, transforms, cache_hits, errors FROM usage_hourly "
    "WHERE customer_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour";

// The day's first second, floored (not truncated toward zero) in SQLite and PostgreSQL alike.
// CAST because PostgreSQL widens SUM(BIGINT) to NUMERIC.
constexpr std::string_view DAILY_SERIES =
    "SELECT hour - ((hour % 86400) + 86400) % 86400 AS day, "
    "CAST(SUM(requests) AS BIGINT), CAST(SUM(bytes_out) AS BIGINT), "
    "CAST(SUM(transforms) AS BIGINT), CAST(SUM(cache_hits) AS BIGINT), "
    "CAST(SUM(errors) AS BIGINT) FROM usage_hourly "
    "WHERE customer_id = $1 AND hour >= $2 AND hour < $3 "
    "GROUP BY hour - ((hour % 86400) + 86400) % 86400 ORDER BY 1";

constexpr std::string_view TOTALS =
    "SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT), "
    "CAST(COALESCE(SUM(bytes_out), 0) AS BIGINT), CAST(COALESCE(SUM(transforms), 0) AS BIGINT), "
    "CAST(COALESCE(SUM(cache_hits), 0) AS BIGINT), CAST(COALESCE(SUM(errors), 0) AS BIGINT) "
    "FROM usage_hourly WHERE customer_id = $1 AND hour >= $2 AND hour < $3";

/** Columns `first..first+4` of `row` into the bucket's counters. */
void read_counters(const Row& row, std::size_t first, UsageBucket& bucket) {
    bucket.requests = row.integer(first).value_or(0);
    bucket.bytes_out = row.integer(first + 1).value_or(0);
    bucket.transforms = row.integer(first + 2).value_or(0);
    bucket.cache_hits = row.integer(first + 3).value_or(0);
    bucket.errors = row.integer(first + 4).value_or(0);
}

// Adds rather than overwrites, so concurrent flushes from several nodes all count: the
// database adds each node's counts to the row it finds (or creates) under the row's lock. The
// ON CONFLICT ... excluded form is valid in SQLite >= 3.24 and PostgreSQL alike.
constexpr std::string_view UPSERT_HEAD =
    "INSERT INTO usage_hourly (customer_id, hour, requests, bytes_out, transforms, cache_hits, "
    "errors) VALUES ";
constexpr std::string_view UPSERT_TAIL =
    " ON CONFLICT (customer_id, hour) DO UPDATE SET "
    "requests = usage_hourly.requests + excluded.requests, "
    "bytes_out = usage_hourly.bytes_out + excluded.bytes_out, "
    "transforms = usage_hourly.transforms + excluded.transforms, "
    "cache_hits = usage_hourly.cache_hits + excluded.cache_hits, "
    "errors = usage_hourly.errors + excluded.errors";
constexpr std::size_t COLUMNS_PER_ROW = 7;

using HourKey = std::pair<std::string, std::int64_t>;

/** The deltas summed per (customer, hour start), in key order: one statement may not update
 *  a row twice (PostgreSQL refuses it), and every node locking rows in the same order cannot
 *  deadlock another. */
std::map<HourKey, UsageDelta> merge_by_hour(const std::vector<UsageDelta>& deltas) {
    std::map<HourKey, UsageDelta> merged;
    for (const auto& d : deltas) {
        auto [it, fresh] = merged.try_emplace(HourKey{d.customer_id, hour_start(d.hour)});
        auto& sum = it->second;
        if (fresh) {
            sum.customer_id = d.customer_id;
            sum.hour = hour_start(d.hour);
        }
        sum.requests += d.requests;
        sum.bytes_out += d.bytes_out;
        sum.transforms += d.transforms;
        sum.cache_hits += d.cache_hits;
        sum.errors += d.errors;
    }
    return merged;
}

/** One multi-row upsert of `rows`: its SQL and its parameters. */
std::pair<std::string, std::vector<Value>> upsert_statement(const std::vector<UsageDelta>& rows) {
    std::string sql(UPSERT_HEAD);
    std::vector<Value> params;
    params.reserve(rows.size() * COLUMNS_PER_ROW);
    for (const auto& d : rows) {
        sql += params.empty() ? "(" : ", (";
        for (std::size_t column = 0; column < COLUMNS_PER_ROW; ++column) {
            sql += (column == 0 ? "$" : ", $") + std::to_string(params.size() + column + 1);
        }
        sql += ')';
        params.insert(params.end(), {d.customer_id, d.hour, d.requests, d.bytes_out,
                                     d.transforms, d.cache_hits, d.errors});
    }
    sql += UPSERT_TAIL;
    return {std::move(sql), std::move(params)};
}

core::Result<void> upsert_chunk(Database& db, const std::vector<UsageDelta>& rows) {
    auto [sql, params] = upsert_statement(rows);
    CDN_TRY_VOID(db.execute(sql, std::move(params)));
    return {};
}

} // namespace

std::vector<std::vector<UsageDelta>> usage_upsert_chunks(const std::vector<UsageDelta>& deltas) {
    auto merged = merge_by_hour(deltas);
    std::vector<std::vector<UsageDelta>> chunks;
    auto next = merged.begin();
    for (auto left = merged.size(); left > 0;) {
        // A power of two: a handful of statement texts, each prepared once per connection, not
        // one per flush size filling the connections' statement caches.
        const auto size = std::bit_floor(std::min(left, UsageRepository::MAX_ROWS_PER_STATEMENT));
        auto& chunk = chunks.emplace_back();
        chunk.reserve(size);
        for (std::size_t i = 0; i < size; ++i, ++next) {
            chunk.push_back(std::move(next->second));
        }
        left -= size;
    }
    return chunks;
}

std::int64_t hour_start(std::int64_t unix_seconds) {
    // Floor, not truncation toward zero, so that times before 1970 land in their own hour.
    const auto offset = ((unix_seconds % SECONDS_PER_HOUR) + SECONDS_PER_HOUR) % SECONDS_PER_HOUR;
    return unix_seconds - offset;
}

std::int64_t day_start(std::int64_t unix_seconds) {
    const auto offset = ((unix_seconds % SECONDS_PER_DAY) + SECONDS_PER_DAY) % SECONDS_PER_DAY;
    return unix_seconds - offset;
}

core::Result<void> UsageRepository::add_hourly(const std::vector<UsageDelta>& deltas) {
    const auto chunks = usage_upsert_chunks(deltas);
    if (chunks.empty()) {
        return {};
    }
    // A transaction even for one statement: a flush is one unit for the caller, which keeps its
    // counts when the transaction fails (and on PostgreSQL it is retried as a whole).
    return db_.transaction([&](Database& tx) -> core::Result<void> {
        for (const auto& chunk : chunks) {
            CDN_TRY_VOID(upsert_chunk(tx, chunk));
        }
        return {};
    });
}

core::Result<std::int64_t> UsageRepository::sum_bytes_out(std::string_view customer_id,
                                                          std::int64_t from_hour,
                                                          std::int64_t to_hour) {
    // CAST because PostgreSQL widens SUM(BIGINT) to NUMERIC.
    CDN_TRY(rows, db_.query("SELECT CAST(COALESCE(SUM(bytes_out), 0) AS BIGINT) FROM usage_hourly "
                            "WHERE customer_id = $1 AND hour >= $2 AND hour < $3",
                            {text_value(customer_id), from_hour, to_hour}));
    return rows.empty() ? 0 : rows.front().integer(0).value_or(0);
}

core::Result<std::vector<UsageBucket>> UsageRepository::series(std::string_view customer_id,
                                                               std::int64_t from_hour,
                                                               std::int64_t to_hour,
                                                               UsageGranularity granularity) {
    const auto sql = granularity == UsageGranularity::Hour ? HOURLY_SERIES : DAILY_SERIES;
    CDN_TRY(rows, db_.query(sql, {text_value(customer_id), from_hour, to_hour}));
    std::vector<UsageBucket> buckets;
    buckets.reserve(rows.size());
    for (const auto& row : rows) {
        UsageBucket bucket{.start = row.integer(0).value_or(0)};
        read_counters(row, 1, bucket);
        buckets.push_back(bucket);
    }
    return buckets;
}

core::Result<UsageBucket> UsageRepository::totals(std::string_view customer_id,
                                                  std::int64_t from_hour, std::int64_t to_hour) {
    CDN_TRY(rows, db_.query(TOTALS, {text_value(customer_id), from_hour, to_hour}));
    UsageBucket total{.start = from_hour};
    if (!rows.empty()) {
        read_counters(rows.front(), 0, total);
    }
    return total;
}

core::Result<std::int64_t> UsageRepository::storage_bytes(std::string_view customer_id) {
    CDN_TRY(rows, db_.query("SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM originals "
                            "WHERE customer_id = $1",
                            {text_value(customer_id)}));
    return rows.empty() ? 0 : rows.front().integer(0).value_or(0);
}

} // namespace cdn::db
