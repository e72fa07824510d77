#include "db/sqlite_connection.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace cdn::db {
namespace {

constexpr int BUSY_TIMEOUT_MS = 5000;
// Bounds memory if a caller builds SQL text dynamically; statements past it are not cached.
constexpr std::size_t MAX_CACHED_STATEMENTS = 128;
// How much of the statement an error detail quotes (never the parameters: they may be secrets).
constexpr std::size_t SQL_IN_DETAIL = 160;

template <class... Fs>
struct Overloaded : Fs... {
    using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

bool means_unavailable(int primary_code) {
    switch (primary_code) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
        return true;
    default:
        return false;
    }
}

core::Errc errc_for(int code) {
    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return core::Errc::Conflict;
    }
    // Extended codes carry the primary code in their low byte.
    return means_unavailable(code & 0xff) ? core::Errc::Unavailable : core::Errc::Internal;
}

std::string with_context(std::string message, std::string_view context) {
    if (!context.empty()) {
        message += " in: ";
        message += context.substr(0, SQL_IN_DETAIL);
    }
    return message;
}

core::Error sqlite_error(int code, sqlite3* handle, std::string_view context) {
    std::string message = handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(code);
    return database_error(errc_for(code), with_context(std::move(message), context));
}

/** A mistake in the calling code (wrong placeholders, two statements): never the network's. */
core::Error misuse(std::string message, std::string_view sql) {
    return database_error(core::Errc::Internal, with_context(std::move(message), sql));
}

bool is_blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return c == ';' || std::isspace(static_cast<unsigned char>(c)) != 0;
    });
}

int bind_value(sqlite3_stmt* stmt, int index, const Value& value) {
    // SQLITE_STATIC: the caller's params outlive the statement's run, and bindings are cleared
    // before the statement goes back to the cache.
    return std::visit(Overloaded{
                          [&](std::nullptr_t) { return sqlite3_bind_null(stmt, index); },
                          [&](std::int64_t n) { return sqlite3_bind_int64(stmt, index, n); },
                          [&](double d) { return sqlite3_bind_double(stmt, index, d); },
                          [&](const std::string& s) {
                              return sqlite3_bind_text64(stmt, index, s.data(), s.size(),
                                                         SQLITE_STATIC, SQLITE_UTF8);
                          },
                      },
                      value);
}

/** Where SQLite binds each `$N` of `stmt`, N from 1 to its parameter count (0: not in the SQL). */
std::vector<int> parameter_indexes(sqlite3_stmt* stmt) {
    std::vector<int> index_of(static_cast<std::size_t>(sqlite3_bind_parameter_count(stmt)));
    for (std::size_t i = 0; i < index_of.size(); ++i) {
        const std::string name = "$" + std::to_string(i + 1);
        index_of[i] = sqlite3_bind_parameter_index(stmt, name.c_str());
    }
    return index_of;
}

// Binds by name so `$1` means params[0] however often and in whatever order the SQL uses it,
// exactly as PostgreSQL reads the same text. `index_of` is parameter_indexes(stmt).
core::Result<void> bind_all(sqlite3_stmt* stmt, const std::vector<int>& index_of,
                            const std::vector<Value>& params, std::string_view sql) {
    if (index_of.size() != params.size()) {
        return misuse("statement has " + std::to_string(index_of.size()) + " placeholders but " +
                          std::to_string(params.size()) + " values were given",
                      sql);
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (index_of[i] == 0) {
            return misuse("placeholder $" + std::to_string(i + 1) + " is missing (use $1..$N)",
                          sql);
        }
        if (const int rc = bind_value(stmt, index_of[i], params[i]); rc != SQLITE_OK) {
            return sqlite_error(rc, sqlite3_db_handle(stmt), sql);
        }
    }
    return {};
}

std::string column_bytes(const void* data, int size) {
    // An empty text or blob may come back as a null pointer.
    return data == nullptr
               ? std::string()
               : std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

Value read_column(sqlite3_stmt* stmt, int i) {
    switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
        return static_cast<std::int64_t>(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT:
        return sqlite3_column_double(stmt, i);
    case SQLITE_TEXT:
        return column_bytes(sqlite3_column_text(stmt, i), sqlite3_column_bytes(stmt, i));
    case SQLITE_BLOB:
        return column_bytes(sqlite3_column_blob(stmt, i), sqlite3_column_bytes(stmt, i));
    default:
        return nullptr;
    }
}

Row read_row(sqlite3_stmt* stmt, int columns) {
    Row row;
    row.values.reserve(static_cast<std::size_t>(columns));
    for (int i = 0; i < columns; ++i) {
        row.values.push_back(read_column(stmt, i));
    }
    return row;
}

core::Result<StatementOutcome> step_all(sqlite3_stmt* stmt, std::string_view sql) {
    sqlite3* handle = sqlite3_db_handle(stmt);
    const auto total_before = sqlite3_total_changes64(handle);
    const int columns = sqlite3_column_count(stmt);
    StatementOutcome outcome;
    for (;;) {
        const int rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) {
            break;
        }
        if (rc != SQLITE_ROW) {
            return sqlite_error(rc, handle, sql);
        }
        outcome.rows.push_back(read_row(stmt, columns));
    }
    // sqlite3_changes64 still holds the last DML's count after DDL, so only trust it when this
    // statement changed something.
    if (sqlite3_total_changes64(handle) != total_before) {
        outcome.changes = sqlite3_changes64(handle);
    }
    return outcome;
}

} // namespace

/** A statement borrowed from the cache (reset on return) or owned (finalized on return). */
class SqliteConnection::Statement {
public:
    explicit Statement(const Prepared& cached) : prepared_(&cached), owned_(false) {}
    explicit Statement(Prepared&& owned)
        : own_(std::move(owned)), prepared_(&own_), owned_(true) {}
    Statement(Statement&& other) noexcept
        : own_(std::move(other.own_)), prepared_(other.owned_ ? &own_ : other.prepared_),
          owned_(other.owned_) {
        other.prepared_ = nullptr;
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement& operator=(Statement&&) = delete;

    ~Statement() {
        if (prepared_ == nullptr) {
            return;
        }
        if (owned_) {
            sqlite3_finalize(prepared_->stmt);
            return;
        }
        // Reset ends the statement's read snapshot (a COMMIT would fail while one is active);
        // clearing drops the pointers into the caller's params.
        sqlite3_reset(prepared_->stmt);
        sqlite3_clear_bindings(prepared_->stmt);
    }

    sqlite3_stmt* get() const { return prepared_->stmt; }
    const std::vector<int>& index_of() const { return prepared_->index_of; }

private:
    Prepared own_;
    const Prepared* prepared_;
    bool owned_;
};

core::Result<std::unique_ptr<SqliteConnection>> SqliteConnection::open(const std::string& path,
                                                                       bool enable_wal) {
    sqlite3* handle = nullptr;
    // NOMUTEX: a connection is only ever used by one thread at a time, so SQLite's own
    // per-connection mutex would be pure overhead.
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
    // The handle must be closed even when opening failed, so own it first.
    std::unique_ptr<SqliteConnection> connection(new SqliteConnection(handle));
    if (rc != SQLITE_OK) {
        return sqlite_error(rc, handle, "open " + path);
    }
    CDN_TRY_VOID(connection->configure(enable_wal));
    return connection;
}

SqliteConnection::~SqliteConnection() {
    for (auto& [sql, prepared] : statements_) {
        sqlite3_finalize(prepared.stmt);
    }
    sqlite3_close_v2(handle_);
}

core::Result<void> SqliteConnection::configure(bool enable_wal) {
    sqlite3_extended_result_codes(handle_, 1);
    sqlite3_busy_timeout(handle_, BUSY_TIMEOUT_MS);
    if (enable_wal) {
        CDN_TRY(mode, run("PRAGMA journal_mode=WAL", {}));
        if (mode.rows.empty() || mode.rows.front().text(0) != "wal") {
            return database_error(core::Errc::Unavailable, "could not switch to WAL journal mode");
        }
    }
    // Per connection, not per file: every pooled connection needs them.
    CDN_TRY_VOID(run("PRAGMA synchronous=NORMAL", {}));
    CDN_TRY_VOID(run("PRAGMA foreign_keys=ON", {}));
    return {};
}

core::Result<SqliteConnection::Statement> SqliteConnection::prepare(std::string_view sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) {
        return Statement(it->second);
    }
    const bool cache = statements_.size() < MAX_CACHED_STATEMENTS;
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(handle_, sql.data(), static_cast<int>(sql.size()),
                                      cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, &tail);
    if (rc != SQLITE_OK) {
        return sqlite_error(rc, handle_, sql);
    }
    if (stmt == nullptr) {
        return misuse("empty statement", sql);
    }
    // SQLite would silently ignore everything after the first statement.
    if (!is_blank(
            std::string_view(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail)))) {
        sqlite3_finalize(stmt);
        return misuse("one statement per call", sql);
    }
    Prepared prepared{.stmt = stmt, .index_of = parameter_indexes(stmt)};
    if (cache) {
        const auto [cached, inserted] = statements_.emplace(std::string(sql), std::move(prepared));
        return Statement(cached->second);
    }
    return Statement(std::move(prepared));
}

core::Result<StatementOutcome> SqliteConnection::run(std::string_view sql,
                                                     const std::vector<Value>& params,
                                                     std::mutex* write_mutex) {
    // Declared before the statement so the statement is reset while the lock is still held.
    std::unique_lock<std::mutex> write_lock;
    CDN_TRY(statement, prepare(sql));
    CDN_TRY_VOID(bind_all(statement.get(), statement.index_of(), params, sql));
    if (write_mutex != nullptr && sqlite3_stmt_readonly(statement.get()) == 0) {
        write_lock = std::unique_lock<std::mutex>(*write_mutex);
    }
    return step_all(statement.get(), sql);
}

bool SqliteConnection::in_transaction() const { return sqlite3_get_autocommit(handle_) == 0; }

bool SqliteConnection::rollback() noexcept {
    if (in_transaction()) {
        sqlite3_exec(handle_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    return !in_transaction();
}

} // namespace cdn::db
