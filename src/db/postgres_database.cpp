#include "db/postgres_database.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include "core/backoff.h"
#include "db/connection_pool.h"
#include "db/transaction_support.h"

namespace cdn::db {
namespace {

using Pool = ConnectionPool<PostgresConnection>;
using Clock = std::chrono::steady_clock;

// A readiness probe answers quickly or not at all: a load balancer's probe gives up after a second
// or two, and a healthy server answers SELECT 1 in well under a millisecond.
constexpr auto CHECK_TIMEOUT = std::chrono::milliseconds(1000);
// How long after a timeout calls fail fast: a hung server costs one wait a second, not one per
// caller.
constexpr auto HUNG_PAUSE = std::chrono::milliseconds(1000);
using PostgresTransaction = TransactionHandle<PostgresConnection>;

std::size_t default_pool_size() {
    return 2 * std::max(1u, std::thread::hardware_concurrency());
}

/** Between attempts of a transaction that collided, or of a lock another session holds: 2 ms
 *  doubling to 100 ms, jittered so that colliding transactions do not collide again in lockstep. */
core::Backoff retry_backoff() {
    return core::Backoff(std::chrono::milliseconds(2), std::chrono::milliseconds(100));
}

/** Runs `once` until it succeeds, fails for a reason a retry cannot fix, or MAX_ATTEMPTS. */
template <class Once>
auto with_retries(Once once) -> decltype(once(std::declval<bool&>())) {
    auto backoff = retry_backoff();
    for (int attempt = 1;; ++attempt) {
        bool retryable = false;
        auto result = once(retryable);
        if (result || !retryable || attempt == PostgresDatabase::MAX_ATTEMPTS) {
            return result;
        }
        std::this_thread::sleep_for(backoff.next());
    }
}

/**
 * Takes session advisory lock `key` on `connection`, waiting for it as long as another session
 * holds it. Polled with pg_try_advisory_lock rather than waited for in pg_advisory_lock: one
 * statement waiting longer than the statement timeout would be cancelled, and the holder (a
 * node migrating, say) may well take longer. A holder that dies releases it with its session.
 */
core::Result<void> take_advisory_lock(PostgresConnection& connection, std::int64_t key) {
    auto backoff = retry_backoff();
    for (;;) {
        CDN_TRY(taken, connection.run("SELECT pg_try_advisory_lock($1)", {key}));
        if (!taken.rows.empty() && taken.rows.front().integer(0) == 1) {
            return {};
        }
        std::this_thread::sleep_for(backoff.next());
    }
}

} // namespace

struct PostgresDatabase::Impl {
    Impl(const PostgresOptions& options, std::unique_ptr<PostgresConnection> first)
        : statement_timeout(options.statement_timeout),
          pool(
              "postgres", options.pool_size, options.pool_wait,
              [options](Deadline deadline) {
                  const auto connect_by = deadline_in(options.connect_timeout);
                  return PostgresConnection::open(options, std::min(deadline, connect_by));
              },
              std::move(first)) {}

    /** One statement: getting a connection (opening one if need be) and its answer share one
     *  deadline, so a caller waits at most `timeout` whatever state the server is in. */
    core::Result<StatementOutcome> run(std::string_view sql, const std::vector<Value>& params,
                                       std::chrono::milliseconds timeout) {
        CDN_TRY_VOID(usable_outside_body(this));
        CDN_TRY_VOID(not_known_hung());
        return with_retries([&](bool& retryable) -> core::Result<StatementOutcome> {
            const auto deadline = deadline_in(timeout, PostgresConnection::ANSWER_GRACE);
            auto outcome = [&]() -> core::Result<StatementOutcome> {
                CDN_TRY(lease, pool.acquire(deadline));
                auto ran = lease->run(sql, params, deadline);
                retryable = !ran && is_retryable_sqlstate(lease->last_sqlstate());
                return ran;
            }();
            note_timeout(outcome, deadline);
            return outcome;
        });
    }

    /** A call that failed at its deadline found the server hung (or swamped): for HUNG_PAUSE every
     *  call fails at once instead of each waiting its whole timeout, so that paths that can do
     *  without the database (the edge's caches, its quota figures) degrade quickly. */
    template <class T>
    void note_timeout(const core::Result<T>& outcome, Deadline deadline) {
        if (!outcome && Clock::now() >= deadline) {
            hung_until.store((Clock::now() + HUNG_PAUSE).time_since_epoch().count());
        }
    }

    core::Result<void> not_known_hung() const {
        if (Clock::now().time_since_epoch().count() < hung_until.load()) {
            return database_error(core::Errc::Unavailable,
                                  "postgres timed out moments ago; not asked again yet");
        }
        return {};
    }

    core::Result<StatementOutcome> run(std::string_view sql, const std::vector<Value>& params) {
        return run(sql, params, statement_timeout);
    }

    core::Result<void> transaction_once(const TransactionBody& body, bool& retryable) {
        CDN_TRY_VOID(not_known_hung());
        // Then each statement of the body has the statement timeout of its own.
        const auto deadline = deadline_in(statement_timeout, PostgresConnection::ANSWER_GRACE);
        auto leased = pool.acquire(deadline);
        note_timeout(leased, deadline);
        CDN_TRY(lease, std::move(leased));
        auto begun = lease->run("BEGIN ISOLATION LEVEL SERIALIZABLE", {}, deadline);
        note_timeout(begun, deadline);
        CDN_TRY_VOID(std::move(begun));
        PostgresTransaction tx(*lease, "postgres");
        auto done = [&]() -> core::Result<void> {
            BodyScope scope(this);
            CDN_TRY_VOID(run_body(tx, body, [&lease] { lease->rollback(); }));
            CDN_TRY_VOID(lease->run("COMMIT", {}));
            return {};
        }();
        // The body's own failure or COMMIT's: either way the last statement tells.
        retryable = !done && is_retryable_sqlstate(lease->last_sqlstate());
        return done;
    }

    std::chrono::milliseconds statement_timeout;
    /** Steady-clock ticks until which the server counts as hung (note_timeout). */
    std::atomic<Clock::rep> hung_until{0};
    Pool pool;
    /** For a connection outside the pool (exclusively()'s lock session). */
    PostgresOptions options;
};

core::Result<void> PostgresDatabase::check_url(const std::string& url) {
    if (!url.starts_with("postgres://") && !url.starts_with("postgresql://")) {
        return core::make_error(core::Errc::InvalidRequest, "expected postgres://...");
    }
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
    if (parsed == nullptr) {
        std::string reason = error != nullptr ? error : "out of memory";
        PQfreemem(error);
        while (!reason.empty() && reason.back() == '\n') {
            reason.pop_back();
        }
        // libpq quotes the whole URI, password included: the message goes to the terminal.
        if (const auto at = reason.find(url); at != std::string::npos) {
            reason.replace(at, url.size(), "...");
        }
        return core::make_error(core::Errc::InvalidRequest, reason);
    }
    PQconninfoFree(parsed);
    return {};
}

core::Result<DatabasePtr> PostgresDatabase::open(PostgresOptions options) {
    if (options.pool_size == 0) {
        options.pool_size = default_pool_size();
    }
    CDN_TRY(first, PostgresConnection::open(options));
    auto impl = std::make_unique<Impl>(options, std::move(first));
    impl->options = options;
    return DatabasePtr(new PostgresDatabase(std::move(impl)));
}

PostgresDatabase::PostgresDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PostgresDatabase::~PostgresDatabase() = default;

core::Result<Rows> PostgresDatabase::query(std::string_view sql, std::vector<Value> params) {
    CDN_TRY(outcome, impl_->run(sql, params));
    return std::move(outcome.rows);
}

core::Result<std::int64_t> PostgresDatabase::execute(std::string_view sql,
                                                     std::vector<Value> params) {
    CDN_TRY(outcome, impl_->run(sql, params));
    return outcome.changes;
}

core::Result<void> PostgresDatabase::transaction(const TransactionBody& body) {
    CDN_TRY_VOID(usable_outside_body(impl_.get()));
    return with_retries(
        [&](bool& retryable) { return impl_->transaction_once(body, retryable); });
}

core::Result<void> PostgresDatabase::exclusively(std::int64_t key, const LockedBody& body) {
    CDN_TRY_VOID(usable_outside_body(impl_.get()));
    // A session lock, not pg_advisory_xact_lock in a transaction: a SERIALIZABLE transaction's
    // snapshot is taken by its first statement, before the lock is granted, so a body run
    // inside it would not see what the previous holder committed. The session belongs to a
    // connection of its own, outside the pool: `body` needs the pool (all of it if pool_size
    // is 1), and the lock must be released on the connection that took it.
    CDN_TRY(holder, PostgresConnection::open(impl_->options));
    CDN_TRY_VOID(take_advisory_lock(*holder, key));
    auto done = body();
    // Closing the connection would release it too; unlocking says so explicitly.
    (void)holder->run("SELECT pg_advisory_unlock($1)", {key});
    return done;
}

core::Result<void> PostgresDatabase::check() {
    const auto timeout = impl_->statement_timeout.count() == 0
                             ? CHECK_TIMEOUT
                             : std::min(CHECK_TIMEOUT, impl_->statement_timeout);
    auto answered = impl_->run("SELECT 1", {}, timeout);
    if (!answered) {
        // Whatever the cause, the probe's answer is "not ready".
        return database_error(core::Errc::Unavailable, answered.error().detail);
    }
    return {};
}

core::Result<void> PostgresDatabase::backup_to(const std::string& file) {
    return core::make_error(core::Errc::InvalidRequest,
                            "backup is for the embedded SQLite database: back up PostgreSQL "
                            "with pg_dump (docs/operations.md)",
                            "backup_to " + file + " refused on postgres");
}

std::string_view PostgresDatabase::dialect() const { return "postgres"; }

} // namespace cdn::db
