#pragma once

#include <memory>
#include <string>

#include "db/database.h"
#include "db/postgres_connection.h"

namespace cdn::db {

/**
 * The scale-out backend: PostgreSQL through libpq, a bounded pool of connections (each with its
 * own prepared-statement cache and the statement timeout), opened lazily and reopened after a
 * connection breaks.
 *
 * Transactions run SERIALIZABLE, so a body correct on SQLite (whose writers are serialized) stays
 * correct with several processes writing at once; a serialization failure or deadlock (SQLSTATE
 * 40001, 40P01) runs the whole body again, a bounded number of times with a short randomized
 * back-off, then is Errc::Unavailable. A single statement outside a transaction runs READ
 * COMMITTED and is retried the same way.
 */
class PostgresDatabase final : public Database {
public:
    /** Attempts of one transaction or statement before a serialization failure is returned. */
    static constexpr int MAX_ATTEMPTS = 10;

    /** Errc::InvalidRequest with libpq's reason when `url` is not a connection URL libpq can
     *  parse (checked without connecting, for the configuration's exit 2). */
    static core::Result<void> check_url(const std::string& url);

    /** Connects once (so an unreachable or misnamed database fails here, Errc::Unavailable). */
    static core::Result<DatabasePtr> open(PostgresOptions options);

    PostgresDatabase(const PostgresDatabase&) = delete;
    PostgresDatabase& operator=(const PostgresDatabase&) = delete;
    /** Every query and transaction must have returned before the database is destroyed. */
    ~PostgresDatabase() override;

    core::Result<Rows> query(std::string_view sql, std::vector<Value> params = {}) override;
    core::Result<std::int64_t> execute(std::string_view sql,
                                       std::vector<Value> params = {}) override;
    core::Result<void> transaction(const TransactionBody& body) override;
    /** Holds `pg_advisory_lock(key)` on a connection opened for it while `body` runs. */
    core::Result<void> exclusively(std::int64_t key, const LockedBody& body) override;
    core::Result<void> check() override;
    /** Always an error: PostgreSQL is backed up with its own tools (pg_dump). */
    core::Result<void> backup_to(const std::string& file) override;
    std::string_view dialect() const override;

private:
    struct Impl;
    explicit PostgresDatabase(std::unique_ptr<Impl> impl);

    std::unique_ptr<Impl> impl_;
};

} // namespace cdn::db
