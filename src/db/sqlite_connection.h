#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "db/database.h"
#include "db/transaction_support.h"

// The C types stay opaque here: only db/*.cpp include sqlite3.h.
struct sqlite3;
struct sqlite3_stmt;

namespace cdn::db {

/**
 * One SQLite connection with its prepared-statement cache. Internal to db/: used by one thread
 * at a time (the pool or a transaction guarantees that), so it has no lock of its own.
 */
class SqliteConnection {
public:
    /** Opens `path` and applies the per-connection pragmas; `enable_wal` switches the file to
     *  WAL, which is persistent, so only the first connection of a process needs it. */
    static core::Result<std::unique_ptr<SqliteConnection>> open(const std::string& path,
                                                                bool enable_wal);

    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;
    ~SqliteConnection();

    /**
     * Prepares (or reuses), binds and steps one statement to completion.
     * @param write_mutex when set and the statement writes, held while it steps, so writers of
     *        this process queue on a mutex instead of polling SQLite's busy handler.
     */
    core::Result<StatementOutcome> run(std::string_view sql, const std::vector<Value>& params,
                                       std::mutex* write_mutex = nullptr);

    /** True while a transaction is open (BEGIN without COMMIT/ROLLBACK yet). */
    bool in_transaction() const;

    /** Rolls back an open transaction, if any; true when the connection is usable again. */
    bool rollback() noexcept;

private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    /** A prepared statement and the index SQLite gave each `$N` (index_of[N - 1], 0 when the
     *  SQL lacks it), looked up once: SQLite finds a parameter by name with a linear search,
     *  which made binding a statement of many parameters (a multi-row upsert) quadratic. */
    struct Prepared {
        sqlite3_stmt* stmt = nullptr;
        std::vector<int> index_of;
    };
    class Statement;

    explicit SqliteConnection(sqlite3* handle) : handle_(handle) {}
    core::Result<void> configure(bool enable_wal);
    core::Result<Statement> prepare(std::string_view sql);

    sqlite3* handle_;
    std::unordered_map<std::string, Prepared, StringHash, std::equal_to<>> statements_;
};

} // namespace cdn::db
