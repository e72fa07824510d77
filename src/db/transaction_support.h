#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/** What one statement produced (internal to db/). */
struct StatementOutcome {
    Rows rows;
    /** Rows inserted, updated or deleted by the statement itself (0 for DDL). */
    std::int64_t changes = 0;
};

// The databases whose transaction body is running on this thread. A body that calls its own
// database instead of its tx handle would wait for a lock it holds (or for a pooled connection
// it may be the last to free), so such calls fail fast instead.
inline thread_local std::vector<const void*> t_open_bodies;

/** Marks `owner`'s transaction body as running on this thread while it lives. */
class BodyScope {
public:
    explicit BodyScope(const void* owner) { t_open_bodies.push_back(owner); }
    BodyScope(const BodyScope&) = delete;
    BodyScope& operator=(const BodyScope&) = delete;
    ~BodyScope() { t_open_bodies.pop_back(); }
};

/** Errc::Internal when `owner`'s transaction body is running on this thread. */
inline core::Result<void> usable_outside_body(const void* owner) {
    if (std::find(t_open_bodies.begin(), t_open_bodies.end(), owner) != t_open_bodies.end()) {
        return database_error(core::Errc::Internal,
                              "database called inside its own transaction body; use the tx "
                              "handle");
    }
    return {};
}

/** Runs `body`; on an error result or an exception, `undo` runs first. */
template <class Undo>
core::Result<void> run_body(Database& tx, const Database::TransactionBody& body, Undo undo) {
    try {
        auto result = body(tx);
        if (!result) {
            undo();
        }
        return result;
    } catch (...) {
        undo();
        throw;
    }
}

/**
 * The handle a transaction body gets, for any connection type with
 * `run(sql, params) -> core::Result<StatementOutcome>`: every statement runs on the
 * transaction's connection.
 */
template <class Connection>
class TransactionHandle final : public Database {
public:
    TransactionHandle(Connection& connection, std::string_view dialect)
        : connection_(connection), dialect_(dialect) {}

    core::Result<Rows> query(std::string_view sql, std::vector<Value> params = {}) override {
        CDN_TRY(outcome, connection_.run(sql, params));
        return std::move(outcome.rows);
    }

    core::Result<std::int64_t> execute(std::string_view sql,
                                       std::vector<Value> params = {}) override {
        CDN_TRY(outcome, connection_.run(sql, params));
        return outcome.changes;
    }

    // Nested transactions are savepoints. Reusing one name is fine: SQLite and PostgreSQL both
    // resolve ROLLBACK TO / RELEASE to the innermost savepoint of that name.
    core::Result<void> transaction(const TransactionBody& body) override {
        CDN_TRY_VOID(connection_.run("SAVEPOINT cdn_nested", {}));
        CDN_TRY_VOID(run_body(*this, body, [this] { undo_savepoint(); }));
        auto released = connection_.run("RELEASE cdn_nested", {});
        if (!released) {
            undo_savepoint();
            return released.error();
        }
        return {};
    }

    core::Result<void> check() override {
        CDN_TRY_VOID(connection_.run("SELECT 1", {}));
        return {};
    }

    core::Result<void> exclusively(std::int64_t /*key*/, const LockedBody& /*body*/) override {
        return database_error(core::Errc::Internal, "exclusively called inside a transaction");
    }

    core::Result<void> backup_to(const std::string& /*file*/) override {
        return database_error(core::Errc::Internal, "backup_to called inside a transaction");
    }

    std::string_view dialect() const override { return dialect_; }

private:
    void undo_savepoint() {
        // Failures are ignored: if the engine already rolled the whole transaction back, the
        // outer COMMIT reports it.
        (void)connection_.run("ROLLBACK TO cdn_nested", {});
        (void)connection_.run("RELEASE cdn_nested", {});
    }

    Connection& connection_;
    std::string_view dialect_;
};

} // namespace cdn::db
