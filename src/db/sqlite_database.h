#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "db/database.h"

namespace cdn::db {

/**
 * The embedded backend: one SQLite file in WAL mode (synchronous=NORMAL, foreign keys on,
 * 5 s busy timeout), shared by many threads through a small pool of connections, each with its
 * own prepared-statement cache.
 *
 * Writers of this process queue on one mutex (SQLite allows a single writer anyway), so they
 * wait in order instead of polling; readers run in parallel with them. A transaction holds one
 * connection and the write mutex until its body returns.
 */
class SqliteDatabase final : public Database {
public:
    /** At most this many connections are open; a caller finding all busy waits up to 5 s. */
    static constexpr std::size_t MAX_CONNECTIONS = 8;

    /**
     * Opens (creating if needed) the database file at `path` and switches it to WAL.
     * @param path a file path; ":memory:" is refused because each pooled connection would see
     *        a different database.
     */
    static core::Result<DatabasePtr> open(const std::string& path);

    SqliteDatabase(const SqliteDatabase&) = delete;
    SqliteDatabase& operator=(const SqliteDatabase&) = delete;
    /** Every query and transaction must have returned before the database is destroyed. */
    ~SqliteDatabase() override;

    core::Result<Rows> query(std::string_view sql, std::vector<Value> params = {}) override;
    core::Result<std::int64_t> execute(std::string_view sql,
                                       std::vector<Value> params = {}) override;
    core::Result<void> transaction(const TransactionBody& body) override;
    core::Result<void> check() override;
    /** `VACUUM INTO` a temporary file beside `file`, fsync, then rename over `file`. */
    core::Result<void> backup_to(const std::string& file) override;
    std::string_view dialect() const override;

private:
    struct Impl;
    explicit SqliteDatabase(std::unique_ptr<Impl> impl);

    std::unique_ptr<Impl> impl_;
};

} // namespace cdn::db
