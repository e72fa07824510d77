#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "db/database.h"
#include "db/transaction_support.h"

// The C type stays opaque here: only db/*.cpp include libpq-fe.h.
struct pg_conn;
struct pg_result;

namespace cdn::db {

/** How PostgresDatabase connects (the `[database]` keys of operations.md). */
struct PostgresOptions {
    /** `postgres://user:password@host:port/dbname` (or any libpq connection string). */
    std::string url;
    /** Most connections open at once; 0 = 2 × cores. */
    std::size_t pool_size = 0;
    /** How long a caller waits for a free connection before Errc::Unavailable. */
    std::chrono::milliseconds pool_wait{5000};
    /** How long opening one connection may take, handshake included. */
    std::chrono::milliseconds connect_timeout{10000};
    /** The server cancels a statement running longer (SET per connection), and a caller waits no
     *  longer than this for a connection and its statement's answer (Errc::Unavailable). */
    std::chrono::milliseconds statement_timeout{5000};
};

/** When a caller stops waiting for the database. */
using Deadline = std::chrono::steady_clock::time_point;

/** `timeout` plus `grace` from now; a `timeout` of 0 is none (as for libpq and PostgreSQL). */
Deadline deadline_in(std::chrono::milliseconds timeout,
                     std::chrono::milliseconds grace = std::chrono::milliseconds(0));

/**
 * One libpq connection with its prepared-statement cache. Internal to db/: used
 * by one thread at a time (the pool or a transaction guarantees that), so it
 * has no lock of its own.
 *
 * Every wait on the server has a deadline. libpq's blocking calls (PQconnectdb,
 * PQexec) wait forever on a server that accepts but never answers (a stopped
 * postmaster, a half-dead host), and TCP keepalives or tcp_user_timeout do not
 * help there: the server's kernel still acknowledges every packet. So the
 * connection is in non-blocking mode and each exchange polls its socket up to a
 * deadline; past it the connection is marked broken (the pool drops it), rather
 * than sent a PQcancel, which opens another connection to the same hung server
 * and blocks. The server's own statement_timeout frees its side.
 */
class PostgresConnection {
public:
    /** How long past statement_timeout a caller waits, so that the server's own cancellation (which
     *  keeps the connection) normally comes before ours (which drops it). */
    static constexpr std::chrono::milliseconds ANSWER_GRACE{250};

    /** Connects, handshake and session settings included, by `deadline`. */
    static core::Result<std::unique_ptr<PostgresConnection>> open(const PostgresOptions& options,
                                                                  Deadline deadline);
    /** Connects within options.connect_timeout. */
    static core::Result<std::unique_ptr<PostgresConnection>> open(const PostgresOptions& options);

    PostgresConnection(const PostgresConnection&) = delete;
    PostgresConnection& operator=(const PostgresConnection&) = delete;
    ~PostgresConnection();

    /** Prepares (once per SQL text and parameter types), binds and runs one statement; its answer
     *  is awaited until `deadline`. */
    core::Result<StatementOutcome> run(std::string_view sql, const std::vector<Value>& params,
                                       Deadline deadline);
    /** run() with options.statement_timeout from now (a transaction's statements). */
    core::Result<StatementOutcome> run(std::string_view sql, const std::vector<Value>& params);

    /** Rolls back an open transaction, if any; true when the connection is usable again. */
    bool rollback() noexcept;

    /** False once the server closed the session (a restart, a terminated backend) or an answer came
     *  too late; checked without waiting, before the pool hands the connection out. */
    bool healthy() noexcept;

    /** The SQLSTATE of the last statement if it failed, "" if it succeeded. */
    const std::string& last_sqlstate() const { return last_sqlstate_; }

private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    PostgresConnection(pg_conn* handle, std::chrono::milliseconds statement_timeout)
        : handle_(handle), statement_timeout_(statement_timeout) {}
    core::Result<void> finish_connecting(Deadline deadline);
    core::Result<std::string> prepare(std::string_view sql, const std::vector<unsigned>& types,
                                      Deadline deadline);
    using Answer = std::unique_ptr<pg_result, void (*)(pg_result*)>;
    /** After a PQsend* call (`queued`: it succeeded): flushes it and waits for the answer by
     *  `deadline`; an error answer from the server is an error. */
    core::Result<Answer> exchange(bool queued, std::string_view sql, Deadline deadline);
    core::Result<void> flush(std::string_view sql, Deadline deadline);
    core::Result<void> await_answer(std::string_view sql, Deadline deadline);
    core::Error too_late(std::string_view sql);
    core::Error error_from(const void* result, std::string_view sql);

    pg_conn* handle_;
    std::chrono::milliseconds statement_timeout_;
    /** An answer came too late: the session's state is unknown, so it is never reused. */
    bool broken_ = false;
    std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> statements_;
    std::string last_sqlstate_;
};

/** True for the SQLSTATEs worth running a whole transaction again for. */
bool is_retryable_sqlstate(std::string_view sqlstate);

} // namespace cdn::db
