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

namespace cdn::db {

/** How PostgresDatabase connects (the `[database]` keys of operations.md). */
struct PostgresOptions {
    /** `postgres://user:password@host:port/dbname` (or any libpq connection string). */
    std::string url;
    /** Most connections open at once; 0 = 2 × cores. */
    std::size_t pool_size = 0;
    /** How long a caller waits for a free connection before Errc::Unavailable. */
    std::chrono::milliseconds pool_wait{5000};
    /** libpq's connect_timeout (whole seconds, at least 2: libpq's own floor). */
    std::chrono::milliseconds connect_timeout{10000};
    /** The server cancels a statement running longer (SET per connection). */
    std::chrono::milliseconds statement_timeout{5000};
};

/**
 * One libpq connection with its prepared-statement cache. Internal to db/: used by one thread
 * at a time (the pool or a transaction guarantees that), so it has no lock of its own.
 */
class PostgresConnection {
public:
    static core::Result<std::unique_ptr<PostgresConnection>> open(const PostgresOptions& options);

    PostgresConnection(const PostgresConnection&) = delete;
    PostgresConnection& operator=(const PostgresConnection&) = delete;
    ~PostgresConnection();

    /** Prepares (once per SQL text and parameter types), binds and runs one statement. */
    core::Result<StatementOutcome> run(std::string_view sql, const std::vector<Value>& params);

    /** Rolls back an open transaction, if any; true when the connection is usable again. */
    bool rollback() noexcept;

    /** The SQLSTATE of the last statement if it failed, "" if it succeeded. */
    const std::string& last_sqlstate() const { return last_sqlstate_; }

private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    explicit PostgresConnection(pg_conn* handle) : handle_(handle) {}
    core::Result<std::string> prepare(std::string_view sql, const std::vector<unsigned>& types);
    core::Error error_from(const void* result, std::string_view sql);

    pg_conn* handle_;
    std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> statements_;
    std::string last_sqlstate_;
};

/** True for the SQLSTATEs worth running a whole transaction again for. */
bool is_retryable_sqlstate(std::string_view sqlstate);

} // namespace cdn::db
