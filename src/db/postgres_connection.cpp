#include "db/postgres_connection.h"

#include <libpq-fe.h>

#include <poll.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "db/placeholders.h"

namespace cdn::db {
namespace {

// Bounds memory if a caller builds SQL text dynamically; statements past it are not cached.
constexpr std::size_t MAX_CACHED_STATEMENTS = 128;
// How much of the statement an error detail quotes (never the parameters: they may be secrets).
constexpr std::size_t SQL_IN_DETAIL = 160;

// Type OIDs of pg_type (stable across versions).
constexpr Oid BOOL_OID = 16;
constexpr Oid BYTEA_OID = 17;
constexpr Oid INT8_OID = 20;
constexpr Oid INT2_OID = 21;
constexpr Oid INT4_OID = 23;
constexpr Oid OID_OID = 26;
constexpr Oid FLOAT4_OID = 700;
constexpr Oid FLOAT8_OID = 701;
constexpr Oid NUMERIC_OID = 1700;
constexpr Oid TEXT_OID = 25;
constexpr int BINARY = 1;

template <class... Fs>
struct Overloaded : Fs... {
    using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

/** Parameters in libpq's binary wire form: int8 and float8 big-endian, text as its bytes. */
class BoundParams {
public:
    explicit BoundParams(const std::vector<Value>& params) {
        numbers_.reserve(params.size()); // stable addresses for values_
        for (const auto& param : params) {
            std::visit(Overloaded{
                           [&](std::nullptr_t) { add(0, nullptr, 0); },
                           [&](std::int64_t n) { add_number(INT8_OID, to_bits(n)); },
                           [&](double d) { add_number(FLOAT8_OID, to_bits(d)); },
                           [&](const std::string& s) {
                               add(TEXT_OID, s.data(), static_cast<int>(s.size()));
                           },
                       },
                       param);
        }
    }

    const std::vector<Oid>& types() const { return types_; }
    int count() const { return static_cast<int>(types_.size()); }
    const char* const* values() const { return values_.data(); }
    const int* lengths() const { return lengths_.data(); }
    const int* formats() const { return formats_.data(); }

private:
    template <class T>
    static std::uint64_t to_bits(T value) {
        return std::bit_cast<std::uint64_t>(value);
    }

    void add(Oid type, const char* data, int length) {
        types_.push_back(type);
        values_.push_back(data);
        lengths_.push_back(length);
        formats_.push_back(BINARY);
    }

    void add_number(Oid type, std::uint64_t bits) {
        auto& bytes = numbers_.emplace_back();
        for (int i = 7; i >= 0; --i, bits >>= 8) {
            bytes[static_cast<std::size_t>(i)] = static_cast<char>(bits & 0xff);
        }
        add(type, bytes.data(), 8);
    }

    std::vector<Oid> types_;
    std::vector<const char*> values_;
    std::vector<int> lengths_;
    std::vector<int> formats_;
    std::vector<std::array<char, 8>> numbers_;
};

/** NUMERIC (SUM over integers, say) as an integer when it is one, else a double. */
Value numeric_value(const char* text) {
    if (std::strpbrk(text, ".eEN") == nullptr) {
        char* end = nullptr;
        errno = 0;
        const long long n = std::strtoll(text, &end, 10);
        if (errno == 0 && *end == '\0') {
            return static_cast<std::int64_t>(n);
        }
    }
    return std::strtod(text, nullptr);
}

std::string bytea_value(const char* text) {
    std::size_t length = 0;
    unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &length);
    std::string value(reinterpret_cast<const char*>(bytes), length);
    PQfreemem(bytes);
    return value;
}

// Results come in text form (exact for every type: floats print shortest-exact since 12).
Value read_value(const PGresult* result, int row, int column) {
    if (PQgetisnull(result, row, column) != 0) {
        return nullptr;
    }
    const char* text = PQgetvalue(result, row, column);
    switch (PQftype(result, column)) {
    case INT2_OID:
    case INT4_OID:
    case INT8_OID:
    case OID_OID:
        return static_cast<std::int64_t>(std::strtoll(text, nullptr, 10));
    case FLOAT4_OID:
    case FLOAT8_OID:
        return std::strtod(text, nullptr);
    case NUMERIC_OID:
        return numeric_value(text);
    case BOOL_OID:
        return std::int64_t{text[0] == 't' ? 1 : 0};
    case BYTEA_OID:
        return bytea_value(text);
    default:
        return std::string(text, static_cast<std::size_t>(PQgetlength(result, row, column)));
    }
}

StatementOutcome read_outcome(const PGresult* result) {
    StatementOutcome outcome;
    const int rows = PQntuples(result);
    const int columns = PQnfields(result);
    outcome.rows.reserve(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
        Row row;
        row.values.reserve(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) {
            row.values.push_back(read_value(result, r, c));
        }
        outcome.rows.push_back(std::move(row));
    }
    // A SELECT's tag counts the rows it returned, not rows it changed.
    const std::string_view tag = PQcmdStatus(const_cast<PGresult*>(result));
    if (!tag.starts_with("SELECT")) {
        outcome.changes = std::atoll(PQcmdTuples(const_cast<PGresult*>(result)));
    }
    return outcome;
}

bool succeeded(const PGresult* result) {
    const auto status = PQresultStatus(result);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

core::Errc errc_for(std::string_view sqlstate, bool connection_lost) {
    if (sqlstate == "23505") {
        return core::Errc::Conflict;
    }
    // 08: connection; 53: out of resources; 57: cancelled (statement_timeout), shutting down;
    // 40: serialization failure or deadlock, once its retries are spent; 55P03: lock timeout.
    const bool unavailable = connection_lost || sqlstate.empty() || sqlstate.starts_with("08") ||
                             sqlstate.starts_with("53") || sqlstate.starts_with("57") ||
                             is_retryable_sqlstate(sqlstate) || sqlstate == "55P03";
    return unavailable ? core::Errc::Unavailable : core::Errc::Internal;
}

std::string field(const PGresult* result, int code) {
    const char* value = PQresultErrorField(result, code);
    return value != nullptr ? value : "";
}

/** "customers.email" for a unique violation, from "Key (email)=(...)" without the value
 *  (the detail may be logged; the value may be personal). */
std::string violated_key(const PGresult* result) {
    const auto detail = field(result, PG_DIAG_MESSAGE_DETAIL);
    const auto open = detail.find("Key (");
    const auto close = detail.find(")=", open);
    if (open == std::string::npos || close == std::string::npos) {
        return "";
    }
    const auto columns = detail.substr(open + 5, close - open - 5);
    return " (" + field(result, PG_DIAG_TABLE_NAME) + "." + columns + ")";
}

std::string with_context(std::string message, std::string_view sql) {
    if (!sql.empty()) {
        message += " in: ";
        message += sql.substr(0, SQL_IN_DETAIL);
    }
    return message;
}

/** Waits until the socket is ready for `events`: the events that came, 0 when `deadline` passed
 *  first. An error is reported as ready, for libpq to find and describe. */
short wait_for_socket(int fd, short events, Deadline deadline) {
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd watched{.fd = fd, .events = events, .revents = 0};
        const auto timeout = std::clamp<std::int64_t>(left.count(), 0, INT_MAX);
        const int ready = ::poll(&watched, 1, static_cast<int>(timeout));
        if (ready > 0) {
            return watched.revents;
        }
        if (ready == 0) {
            return 0;
        }
        if (errno != EINTR) {
            return events;
        }
    }
}

std::string trimmed(std::string message) {
    while (!message.empty() && message.back() == '\n') {
        message.pop_back();
    }
    return message;
}

} // namespace

Deadline deadline_in(std::chrono::milliseconds timeout, std::chrono::milliseconds grace) {
    if (timeout.count() == 0) {
        return Deadline::max();
    }
    return std::chrono::steady_clock::now() + timeout + grace;
}

bool is_retryable_sqlstate(std::string_view sqlstate) {
    return sqlstate == "40001" || sqlstate == "40P01";
}

core::Result<std::unique_ptr<PostgresConnection>>
PostgresConnection::open(const PostgresOptions& options, Deadline deadline) {
    // Per connection: statements cancelled past the timeout; every session in UTC; no NOTICE
    // (libpq prints those to stderr, outside the service's log format: "already exists,
    // skipping" on every node's start). Warnings and errors still come back.
    const std::string settings =
        "-c statement_timeout=" + std::to_string(options.statement_timeout.count()) +
        " -c TimeZone=UTC -c client_min_messages=warning";
    const std::array<const char*, 4> keywords{"dbname", "options", "application_name", nullptr};
    const std::array<const char*, 4> values{options.url.c_str(), settings.c_str(), "imagecdn",
                                            nullptr};
    // expand_dbname: the URL's own parts first, our settings after it win.
    std::unique_ptr<PostgresConnection> connection(new PostgresConnection(
        PQconnectStartParams(keywords.data(), values.data(), 1), options.statement_timeout));
    if (connection->handle_ == nullptr) {
        return database_error(core::Errc::Unavailable, "postgres connect: out of memory");
    }
    CDN_TRY_VOID(connection->finish_connecting(deadline));
    return connection;
}

core::Result<std::unique_ptr<PostgresConnection>>
PostgresConnection::open(const PostgresOptions& options) {
    return open(options, deadline_in(options.connect_timeout));
}

core::Result<void> PostgresConnection::finish_connecting(Deadline deadline) {
    // libpq's own connect_timeout would do for the handshake, but in whole seconds (at least two)
    // and only through the blocking PQconnectdb. Not bounded here: resolving a host name, which
    // PQconnectStartParams does synchronously (an IP address or a local resolver avoids it).
    auto polling = PGRES_POLLING_WRITING;
    while (PQstatus(handle_) != CONNECTION_BAD && polling != PGRES_POLLING_FAILED &&
           polling != PGRES_POLLING_OK) {
        const short events = polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (wait_for_socket(PQsocket(handle_), events, deadline) == 0) {
            return database_error(core::Errc::Unavailable,
                                  "postgres connect: no answer within the timeout");
        }
        polling = PQconnectPoll(handle_);
    }
    if (polling != PGRES_POLLING_OK || PQsetnonblocking(handle_, 1) != 0) {
        return database_error(core::Errc::Unavailable,
                              "postgres connect: " + trimmed(PQerrorMessage(handle_)));
    }
    return {};
}

PostgresConnection::~PostgresConnection() { PQfinish(handle_); }

core::Error PostgresConnection::error_from(const void* raw, std::string_view sql) {
    const auto* result = static_cast<const PGresult*>(raw);
    last_sqlstate_ = result != nullptr ? field(result, PG_DIAG_SQLSTATE) : "";
    std::string message = result != nullptr ? field(result, PG_DIAG_MESSAGE_PRIMARY) : "";
    if (message.empty()) {
        message = trimmed(PQerrorMessage(handle_));
    }
    if (last_sqlstate_ == "23505") {
        message += violated_key(result);
    }
    if (!last_sqlstate_.empty()) {
        message += " [" + last_sqlstate_ + "]";
    }
    const bool lost = PQstatus(handle_) != CONNECTION_OK;
    return database_error(errc_for(last_sqlstate_, lost), with_context(std::move(message), sql));
}

core::Result<std::string> PostgresConnection::prepare(std::string_view sql,
                                                      const std::vector<unsigned>& types,
                                                      Deadline deadline) {
    // The same text with other parameter types (a NULL, say) is another prepared statement.
    std::string key(sql);
    key.push_back('\0');
    for (const auto type : types) {
        key += std::to_string(type) + ",";
    }
    if (auto it = statements_.find(key); it != statements_.end()) {
        return it->second;
    }
    // Past the cache's bound: the unnamed statement, replaced by the next one.
    const bool cache = statements_.size() < MAX_CACHED_STATEMENTS;
    std::string name = cache ? "cdn_" + std::to_string(statements_.size()) : "";
    const std::string text(sql);
    const bool queued = PQsendPrepare(handle_, name.c_str(), text.c_str(),
                                      static_cast<int>(types.size()), types.data()) == 1;
    CDN_TRY_VOID(exchange(queued, sql, deadline));
    if (cache) {
        statements_.emplace(std::move(key), name);
    }
    return name;
}

core::Result<StatementOutcome>
PostgresConnection::run(std::string_view sql, const std::vector<Value>& params, Deadline deadline) {
    last_sqlstate_.clear();
    if (broken_) {
        return database_error(core::Errc::Unavailable,
                              with_context("postgres connection dropped after a timeout", sql));
    }
    CDN_TRY_VOID(check_placeholders(sql, params.size()));
    const BoundParams bound(params);
    CDN_TRY(name, prepare(sql, bound.types(), deadline));
    const bool queued = PQsendQueryPrepared(handle_, name.c_str(), bound.count(), bound.values(),
                                            bound.lengths(), bound.formats(), 0) == 1;
    CDN_TRY(answer, exchange(queued, sql, deadline));
    return read_outcome(answer.get());
}

core::Result<StatementOutcome> PostgresConnection::run(std::string_view sql,
                                                       const std::vector<Value>& params) {
    return run(sql, params, deadline_in(statement_timeout_, ANSWER_GRACE));
}

core::Result<PostgresConnection::Answer>
PostgresConnection::exchange(bool queued, std::string_view sql, Deadline deadline) {
    if (!queued) {
        return error_from(nullptr, sql);
    }
    CDN_TRY_VOID(flush(sql, deadline));
    // One statement, one result; the first failure wins should there be more.
    Answer answer(nullptr, PQclear);
    for (;;) {
        CDN_TRY_VOID(await_answer(sql, deadline));
        Answer next(PQgetResult(handle_), PQclear);
        if (next == nullptr) {
            break;
        }
        if (answer == nullptr || succeeded(answer.get())) {
            answer = std::move(next);
        }
    }
    if (answer == nullptr || !succeeded(answer.get())) {
        return error_from(answer.get(), sql);
    }
    return answer;
}

core::Result<void> PostgresConnection::flush(std::string_view sql, Deadline deadline) {
    for (;;) {
        const int pending = PQflush(handle_);
        if (pending == 0) {
            return {};
        }
        if (pending < 0) {
            return error_from(nullptr, sql);
        }
        // libpq's rule: the server may be waiting for us to read before it reads more.
        const short ready = wait_for_socket(PQsocket(handle_), POLLIN | POLLOUT, deadline);
        if (ready == 0) {
            return too_late(sql);
        }
        if ((ready & POLLIN) != 0 && PQconsumeInput(handle_) == 0) {
            return error_from(nullptr, sql);
        }
    }
}

core::Result<void> PostgresConnection::await_answer(std::string_view sql, Deadline deadline) {
    while (PQisBusy(handle_) != 0) {
        if (wait_for_socket(PQsocket(handle_), POLLIN, deadline) == 0) {
            return too_late(sql);
        }
        if (PQconsumeInput(handle_) == 0) {
            return error_from(nullptr, sql);
        }
    }
    return {};
}

core::Error PostgresConnection::too_late(std::string_view sql) {
    broken_ = true;
    last_sqlstate_.clear();
    return database_error(core::Errc::Unavailable,
                          with_context("postgres did not answer within the timeout", sql));
}

bool PostgresConnection::rollback() noexcept {
    if (broken_ || PQstatus(handle_) != CONNECTION_OK) {
        return false;
    }
    const auto state = PQtransactionStatus(handle_);
    if (state == PQTRANS_INTRANS || state == PQTRANS_INERROR) {
        const auto deadline = deadline_in(statement_timeout_, ANSWER_GRACE);
        (void)exchange(PQsendQuery(handle_, "ROLLBACK") == 1, "ROLLBACK", deadline);
    }
    return !broken_ && PQtransactionStatus(handle_) == PQTRANS_IDLE;
}

bool PostgresConnection::healthy() noexcept {
    if (broken_ || PQstatus(handle_) != CONNECTION_OK) {
        return false;
    }
    // An idle session has nothing to read unless the server is closing it (a restart, a terminated
    // backend: a FATAL message, then end of file), which PQconsumeInput notices.
    pollfd idle{.fd = PQsocket(handle_), .events = POLLIN, .revents = 0};
    if (::poll(&idle, 1, 0) > 0 && PQconsumeInput(handle_) == 0) {
        return false;
    }
    return PQstatus(handle_) == CONNECTION_OK;
}

} // namespace cdn::db
