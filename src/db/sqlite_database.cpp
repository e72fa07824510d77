#include "db/sqlite_database.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include "db/sqlite_connection.h"

namespace cdn::db {
namespace {

constexpr auto POOL_WAIT = std::chrono::milliseconds(5000);

// The databases whose transaction body is running on this thread. A body that calls its own
// database instead of its tx handle would wait for the write lock it holds (or for a pooled
// connection it may be the last to free), so such calls fail fast instead.
thread_local std::vector<const void*> t_open_bodies;

class BodyScope {
public:
    explicit BodyScope(const void* owner) { t_open_bodies.push_back(owner); }
    BodyScope(const BodyScope&) = delete;
    BodyScope& operator=(const BodyScope&) = delete;
    ~BodyScope() { t_open_bodies.pop_back(); }
};

class ConnectionPool;

/** A pooled connection, handed back to the pool on destruction. */
class Lease {
public:
    Lease(ConnectionPool& pool, std::unique_ptr<SqliteConnection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    SqliteConnection* operator->() const { return connection_.get(); }
    SqliteConnection& operator*() const { return *connection_; }

private:
    ConnectionPool* pool_;
    std::unique_ptr<SqliteConnection> connection_;
};

/** Up to MAX_CONNECTIONS connections, opened lazily as concurrency grows, never closed early. */
class ConnectionPool {
public:
    ConnectionPool(std::string path, std::unique_ptr<SqliteConnection> first)
        : path_(std::move(path)) {
        // Reserved so that release() never allocates and can stay noexcept.
        idle_.reserve(SqliteDatabase::MAX_CONNECTIONS);
        idle_.push_back(std::move(first));
        open_ = 1;
    }

    core::Result<Lease> acquire() {
        std::unique_lock lock(mutex_);
        const bool ready = available_.wait_for(lock, POOL_WAIT, [this] {
            return !idle_.empty() || open_ < SqliteDatabase::MAX_CONNECTIONS;
        });
        if (!ready) {
            return database_error(core::Errc::Unavailable,
                                  "all sqlite connections stayed busy for 5000 ms");
        }
        if (!idle_.empty()) {
            auto connection = std::move(idle_.back());
            idle_.pop_back();
            return Lease(*this, std::move(connection));
        }
        ++open_;
        lock.unlock();
        // Opening touches the file system, so it happens outside the lock.
        auto opened = SqliteConnection::open(path_, false);
        if (!opened) {
            forget_one();
            return opened.error();
        }
        return Lease(*this, std::move(*opened));
    }

    void release(std::unique_ptr<SqliteConnection> connection) noexcept {
        // A transaction left open (only possible after a failed ROLLBACK) must not leak into
        // the next caller's statements: drop that connection instead.
        if (!connection->rollback()) {
            connection.reset();
            forget_one();
            return;
        }
        {
            std::lock_guard lock(mutex_);
            idle_.push_back(std::move(connection));
        }
        available_.notify_one();
    }

private:
    void forget_one() noexcept {
        {
            std::lock_guard lock(mutex_);
            --open_;
        }
        available_.notify_one();
    }

    std::string path_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<SqliteConnection>> idle_;
    std::size_t open_ = 0;
};

Lease::~Lease() {
    if (connection_) {
        pool_->release(std::move(connection_));
    }
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

/** The handle a transaction body gets: every statement runs on the transaction's connection. */
class SqliteTransaction final : public Database {
public:
    explicit SqliteTransaction(SqliteConnection& connection) : connection_(connection) {}

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

    core::Result<void> backup_to(const std::string& /*file*/) override {
        return database_error(core::Errc::Internal, "backup_to called inside a transaction");
    }

    std::string_view dialect() const override { return "sqlite"; }

private:
    void undo_savepoint() {
        // Failures are ignored: if SQLite already rolled the whole transaction back, the
        // outer COMMIT reports it.
        (void)connection_.run("ROLLBACK TO cdn_nested", {});
        (void)connection_.run("RELEASE cdn_nested", {});
    }

    SqliteConnection& connection_;
};

core::Error file_error(std::string_view what, const std::string& path, int error) {
    return database_error(core::Errc::Unavailable, std::string(what) + " " + path + ": " +
                                                       std::generic_category().message(error));
}

core::Result<void> fsync_path(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) {
        return file_error("open", path, errno);
    }
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0) {
        return file_error("fsync", path, error);
    }
    return {};
}

/** Makes a finished copy visible under its final name only once its bytes are on disk. */
core::Result<void> publish(const std::string& partial, const std::string& file) {
    // VACUUM INTO does not fsync its output.
    CDN_TRY_VOID(fsync_path(partial, O_RDONLY));
    std::error_code ec;
    std::filesystem::rename(partial, file, ec);
    if (ec) {
        return file_error("rename to", file, ec.value());
    }
    const auto dir = std::filesystem::path(file).parent_path();
    return fsync_path(dir.empty() ? std::string(".") : dir.string(), O_RDONLY | O_DIRECTORY);
}

} // namespace

struct SqliteDatabase::Impl {
    Impl(std::string path, std::unique_ptr<SqliteConnection> first)
        : pool(std::move(path), std::move(first)) {}

    core::Result<void> usable_here() const {
        if (std::find(t_open_bodies.begin(), t_open_bodies.end(), this) != t_open_bodies.end()) {
            return database_error(core::Errc::Internal,
                                  "database called inside its own transaction body; use the tx "
                                  "handle");
        }
        return {};
    }

    core::Result<StatementOutcome> run(std::string_view sql, const std::vector<Value>& params) {
        CDN_TRY_VOID(usable_here());
        CDN_TRY(lease, pool.acquire());
        return lease->run(sql, params, &write_mutex);
    }

    ConnectionPool pool;
    std::mutex write_mutex;
};

core::Result<DatabasePtr> SqliteDatabase::open(const std::string& path) {
    if (path.empty() || path == ":memory:") {
        return database_error(core::Errc::Internal,
                              "sqlite needs a database file, not '" + path + "'");
    }
    CDN_TRY(first, SqliteConnection::open(path, true));
    auto impl = std::make_unique<Impl>(path, std::move(first));
    return DatabasePtr(new SqliteDatabase(std::move(impl)));
}

SqliteDatabase::SqliteDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteDatabase::~SqliteDatabase() = default;

core::Result<Rows> SqliteDatabase::query(std::string_view sql, std::vector<Value> params) {
    CDN_TRY(outcome, impl_->run(sql, params));
    return std::move(outcome.rows);
}

core::Result<std::int64_t> SqliteDatabase::execute(std::string_view sql,
                                                   std::vector<Value> params) {
    CDN_TRY(outcome, impl_->run(sql, params));
    return outcome.changes;
}

core::Result<void> SqliteDatabase::transaction(const TransactionBody& body) {
    CDN_TRY_VOID(impl_->usable_here());
    CDN_TRY(lease, impl_->pool.acquire());
    // Connection first, then the write lock: whoever holds the lock never waits for the pool.
    std::lock_guard write_lock(impl_->write_mutex);
    // IMMEDIATE takes SQLite's write lock now; a deferred read that later upgrades to a write
    // fails with SQLITE_BUSY at once instead of waiting.
    CDN_TRY_VOID(lease->run("BEGIN IMMEDIATE", {}));
    SqliteTransaction tx(*lease);
    BodyScope scope(impl_.get());
    CDN_TRY_VOID(run_body(tx, body, [&lease] { lease->rollback(); }));
    auto committed = lease->run("COMMIT", {});
    if (!committed) {
        lease->rollback();
        return committed.error();
    }
    return {};
}

core::Result<void> SqliteDatabase::check() {
    auto answered = impl_->run("SELECT 1", {});
    if (!answered) {
        // Whatever the cause, the probe's answer is "not ready".
        return database_error(core::Errc::Unavailable, answered.error().detail);
    }
    return {};
}

core::Result<void> SqliteDatabase::backup_to(const std::string& file) {
    CDN_TRY_VOID(impl_->usable_here());
    const std::string partial = file + ".partial";
    // A leftover from an interrupted backup would make VACUUM INTO refuse to start.
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    {
        CDN_TRY(lease, impl_->pool.acquire());
        // Without the write mutex: VACUUM INTO reads one snapshot while writers carry on.
        CDN_TRY_VOID(lease->run("VACUUM INTO $1", {Value{partial}}));
    }
    return publish(partial, file);
}

std::string_view SqliteDatabase::dialect() const { return "sqlite"; }

} // namespace cdn::db
