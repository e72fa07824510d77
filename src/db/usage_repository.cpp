#include "db/usage_repository.h"

#include "db/values.h"

namespace cdn::db {
namespace {

constexpr std::int64_t SECONDS_PER_HOUR = 3600;

// Adds rather than overwrites, so concurrent flushes from several nodes all count. The
// ON CONFLICT ... excluded form is valid in SQLite >= 3.24 and PostgreSQL alike.
constexpr std::string_view UPSERT =
    "INSERT INTO usage_hourly (customer_id, hour, requests, bytes_out, transforms, cache_hits, "
    "errors) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (customer_id, hour) DO UPDATE SET "
    "requests = usage_hourly.requests + excluded.requests, "
    "bytes_out = usage_hourly.bytes_out + excluded.bytes_out, "
    "transforms = usage_hourly.transforms + excluded.transforms, "
    "cache_hits = usage_hourly.cache_hits + excluded.cache_hits, "
    "errors = usage_hourly.errors + excluded.errors";

} // namespace

std::int64_t hour_start(std::int64_t unix_seconds) {
    // Floor, not truncation toward zero, so that times before 1970 land in their own hour.
    const auto offset = ((unix_seconds % SECONDS_PER_HOUR) + SECONDS_PER_HOUR) % SECONDS_PER_HOUR;
    return unix_seconds - offset;
}

core::Result<void> UsageRepository::add_hourly(const std::vector<UsageDelta>& deltas) {
    if (deltas.empty()) {
        return {};
    }
    return db_.transaction([&](Database& tx) -> core::Result<void> {
        for (const auto& d : deltas) {
            CDN_TRY_VOID(tx.execute(UPSERT, {d.customer_id, hour_start(d.hour), d.requests,
                                             d.bytes_out, d.transforms, d.cache_hits, d.errors}));
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

} // namespace cdn::db
