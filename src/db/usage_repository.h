#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/** Counters to add to one customer's hour. */
struct UsageDelta {
    std::string customer_id;
    /** Any unix second within the hour; stored as the hour's first second. */
    std::int64_t hour = 0;
    std::int64_t requests = 0;
    std::int64_t bytes_out = 0;
    std::int64_t transforms = 0;
    std::int64_t cache_hits = 0;
    std::int64_t errors = 0;
};

/** The first second of the hour containing `unix_seconds`. */
std::int64_t hour_start(std::int64_t unix_seconds);

/** The first second (UTC) of the day containing `unix_seconds`. */
std::int64_t day_start(std::int64_t unix_seconds);

/** The rows `UsageRepository::add_hourly` writes, one statement's worth per element: `deltas`
 *  summed per customer and hour start, ordered by both, cut into chunks whose sizes are powers
 *  of two, largest first, at most UsageRepository::MAX_ROWS_PER_STATEMENT. */
std::vector<std::vector<UsageDelta>> usage_upsert_chunks(const std::vector<UsageDelta>& deltas);

/** Counters of one bucket of a usage series (an hour or a UTC day), or of a whole range. */
struct UsageBucket {
    /** Unix seconds: the bucket's first second (for totals, the range's start). */
    std::int64_t start = 0;
    std::int64_t requests = 0;
    std::int64_t bytes_out = 0;
    std::int64_t transforms = 0;
    std::int64_t cache_hits = 0;
    std::int64_t errors = 0;

    bool operator==(const UsageBucket&) const = default;
};

/** The size of a series' buckets. */
enum class UsageGranularity { Hour, Day };

/** Hourly usage rollups. Works on a Database or on a transaction handle. */
class UsageRepository {
public:
    explicit UsageRepository(Database& db) : db_(db) {}

    /** Rows of one upsert statement (a power of two): 7 parameters each keeps a statement far
     *  below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
    static constexpr std::size_t MAX_ROWS_PER_STATEMENT = 256;

    /**
     * Adds every delta to its hour's counters (creating the row) with multi-row
     * `INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x` statements, each row once (the
     * deltas of one hour summed first), as usage_upsert_chunks cuts them, all in one
     * transaction, so a flush is counted entirely or not at all. Nodes flushing the same
     * customer-hour at once all count: the database does the adding.
     */
    core::Result<void> add_hourly(const std::vector<UsageDelta>& deltas);

    /** Bytes served to the customer in hours `from_hour <= hour < to_hour` (unix seconds). */
    core::Result<std::int64_t> sum_bytes_out(std::string_view customer_id, std::int64_t from_hour,
                                             std::int64_t to_hour);

    /**
     * The customer's counters in hours `from_hour <= hour < to_hour` (unix seconds), summed per
     * hour or per UTC day, in ascending order of `start`. Only buckets with a row are returned:
     * filling the gaps is the caller's choice. Only flushed counts (what usage_hourly holds).
     */
    core::Result<std::vector<UsageBucket>> series(std::string_view customer_id,
                                                  std::int64_t from_hour, std::int64_t to_hour,
                                                  UsageGranularity granularity);

    /** The customer's counters summed over hours `from_hour <= hour < to_hour`; `start` is
     *  `from_hour`, and every counter 0 when there is no row. */
    core::Result<UsageBucket> totals(std::string_view customer_id, std::int64_t from_hour,
                                     std::int64_t to_hour);

    /** Bytes of the customer's originals (SUM(bytes) of `originals`); 0 when none. */
    core::Result<std::int64_t> storage_bytes(std::string_view customer_id);

private:
    Database& db_;
};

} // namespace cdn::db
