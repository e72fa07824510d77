#include "sql_file.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <functional>

namespace cdn::test {
namespace {

/** Opens the data dir's database for one call, with a busy timeout: the server may be writing. */
void with_database(const std::string& data_dir, const std::function<void(sqlite3*)>& use) {
    sqlite3* db = nullptr;
    const auto path = data_dir + "/imagecdn.db";
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
        ADD_FAILURE() << "cannot open " << path;
        sqlite3_close(db);
        return;
    }
    sqlite3_busy_timeout(db, 5000);
    use(db);
    sqlite3_close(db);
}

/** The first column of the first row, through `read`. */
template <class T> T first_value(const std::string& data_dir, const std::string& sql, T fallback,
                                 T (*read)(sqlite3_stmt*)) {
    T value = fallback;
    with_database(data_dir, [&](sqlite3* db) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
            ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
            return;
        }
        if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
            value = read(stmt);
        }
        sqlite3_finalize(stmt);
    });
    return value;
}

} // namespace

void sql_exec(const std::string& data_dir, const std::string& sql) {
    with_database(data_dir, [&](sqlite3* db) {
        char* error = nullptr;
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
            ADD_FAILURE() << sql << ": " << (error ? error : "?");
        }
        sqlite3_free(error);
    });
}

std::int64_t sql_integer(const std::string& data_dir, const std::string& sql) {
    return first_value<std::int64_t>(data_dir, sql, -1, [](sqlite3_stmt* stmt) {
        return static_cast<std::int64_t>(sqlite3_column_int64(stmt, 0));
    });
}

std::string sql_text(const std::string& data_dir, const std::string& sql) {
    return first_value<std::string>(data_dir, sql, {}, [](sqlite3_stmt* stmt) {
        return std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    });
}

} // namespace cdn::test
