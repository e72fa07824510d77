#include "db/sqlite_database.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include "db/connection_pool.h"
#include "db/sqlite_connection.h"
#include "db/transaction_support.h"

namespace cdn::db {
namespace {

constexpr auto POOL_WAIT = std::chrono::milliseconds(5000);

using Pool = ConnectionPool<SqliteConnection>;
using SqliteTransaction = TransactionHandle<SqliteConnection>;

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
        : pool(
              "sqlite", MAX_CONNECTIONS, POOL_WAIT,
              [path = std::move(path)](auto /*deadline*/) {
                  return SqliteConnection::open(path, false);
              },
              std::move(first)) {}

    core::Result<void> usable_here() const { return usable_outside_body(this); }

    core::Result<StatementOutcome> run(std::string_view sql, const std::vector<Value>& params) {
        CDN_TRY_VOID(usable_here());
        CDN_TRY(lease, pool.acquire());
        return lease->run(sql, params, &write_mutex);
    }

    Pool pool;
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
    SqliteTransaction tx(*lease, "sqlite");
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
