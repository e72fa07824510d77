#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

namespace cdn::db {

/** One SQL value: a bound parameter or a result column. Booleans are stored as 0/1 integers,
 *  timestamps as unix seconds, so every value maps onto both SQLite and PostgreSQL. */
using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

/** One result row, columns in SELECT order. */
struct Row {
    std::vector<Value> values;

    /** Column `i` as text; nullopt when it is NULL, not text, or out of range. */
    std::optional<std::string> text(std::size_t i) const;
    /** Column `i` as an integer; nullopt when it is NULL, not an integer, or out of range. */
    std::optional<std::int64_t> integer(std::size_t i) const;
    /** Column `i` as a double (integers widen); nullopt when NULL, text, or out of range. */
    std::optional<double> real(std::size_t i) const;
};

using Rows = std::vector<Row>;

/**
 * The database seam: SQL is written once for every backend with `$1, $2, ...` placeholders and
 * portable types. Implementations are thread-safe; a transaction's handle is not (it belongs to
 * the thread running the body).
 *
 * Errors: a unique or primary-key violation is Errc::Conflict; an unreachable, busy or full
 * database is Errc::Unavailable; anything else (bad SQL, misuse) is Errc::Internal. The public
 * message is always "database error"; the backend's own message is in `detail`.
 */
class Database {
public:
    /** The body of a transaction; it must use `tx`, never the Database it was started on. */
    using TransactionBody = std::function<core::Result<void>(Database& tx)>;

    virtual ~Database() = default;

    /**
     * Runs one statement and returns its rows (also for `INSERT ... RETURNING`).
     * @param sql one statement with `$1..$N` placeholders.
     * @param params exactly N values, `params[0]` binds `$1`.
     */
    virtual core::Result<Rows> query(std::string_view sql, std::vector<Value> params = {}) = 0;

    /**
     * Runs one statement that returns no rows.
     * @return the number of rows it inserted, updated or deleted (0 for DDL).
     */
    virtual core::Result<std::int64_t> execute(std::string_view sql,
                                               std::vector<Value> params = {}) = 0;

    /**
     * Runs `body` in one transaction: commits when it returns success, rolls back when it
     * returns an error (which is returned) or throws (which is rethrown). Called on a
     * transaction handle it nests as a savepoint. To carry on after a statement fails inside a
     * body, run that statement in a nested transaction: PostgreSQL refuses every further
     * statement of a transaction in which one failed.
     *
     * On PostgreSQL the outermost transaction is SERIALIZABLE and a serialization failure or
     * deadlock runs `body` again (a bounded number of times, then Errc::Unavailable), so a body
     * must be safe to repeat: set what it hands out, never accumulate into it, and keep effects
     * outside the database (HTTP calls, messages) out of it.
     */
    virtual core::Result<void> transaction(const TransactionBody& body) = 0;

    /** What exclusively() runs while it holds its lock. */
    using LockedBody = std::function<core::Result<void>()>;

    /**
     * Runs `body` while holding the database-wide lock `key`: every other process calling
     * exclusively() with the same key on the same database waits until `body` returns. `body`
     * uses this Database as usual. On PostgreSQL a session advisory lock on a connection of its
     * own; on SQLite (one file, whose writers BEGIN IMMEDIATE already serializes) it just runs
     * `body`. Not available on a transaction handle.
     */
    virtual core::Result<void> exclusively(std::int64_t key, const LockedBody& body);

    /** Readiness probe (`SELECT 1`): Errc::Unavailable when the database cannot answer. */
    virtual core::Result<void> check() = 0;

    /**
     * Writes a consistent copy of the whole database to `file` while others keep reading and
     * writing; `file` is replaced atomically. Not available on a transaction handle.
     */
    virtual core::Result<void> backup_to(const std::string& file) = 0;

    /** "sqlite" or "postgres", for the rare statement that cannot be written portably. */
    virtual std::string_view dialect() const = 0;
};

using DatabasePtr = std::unique_ptr<Database>;

/** The error every backend reports: public message generic, backend message in `detail`. */
core::Error database_error(core::Errc code, std::string detail);

/** True for a backend's Errc::Unavailable: the database cannot answer now (down, hung, busy), as
 *  opposed to another dependency that is unavailable. */
bool is_database_unavailable(const core::Error& error);

/** `error` as a caller that cannot do without the database answers it: a database that cannot
 *  answer is Errc::DatabaseUnavailable (503 `database_unavailable`); anything else unchanged. */
core::Error for_client(core::Error error);

} // namespace cdn::db
