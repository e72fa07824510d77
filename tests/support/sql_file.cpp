#include "sql_file.h"

#include <gtest/gtest.h>

#include "db/postgres_database.h"
#include "db/sqlite_database.h"

#include "server_process.h"

namespace cdn::test {
namespace {

/** The database of `data_dir`, opened for one call; null (and the test failed) if it cannot be. */
db::DatabasePtr open_database(const std::string& data_dir) {
    const auto url = test_database_url(data_dir);
    auto database = url.empty() ? db::SqliteDatabase::open(data_dir + "/imagecdn.db")
                                : db::PostgresDatabase::open({.url = url, .pool_size = 1});
    if (!database) {
        ADD_FAILURE() << "cannot open the database of " << data_dir << ": "
                      << database.error().detail;
        return nullptr;
    }
    return std::move(*database);
}

} // namespace

db::Rows sql_query(const std::string& data_dir, const std::string& sql,
                   std::vector<db::Value> params) {
    const auto database = open_database(data_dir);
    if (!database) {
        return {};
    }
    auto rows = database->query(sql, std::move(params));
    if (!rows) {
        ADD_FAILURE() << sql << ": " << rows.error().detail;
        return {};
    }
    return std::move(*rows);
}

void sql_exec(const std::string& data_dir, const std::string& sql,
              std::vector<db::Value> params) {
    if (const auto database = open_database(data_dir)) {
        const auto done = database->execute(sql, std::move(params));
        EXPECT_TRUE(done) << sql << ": " << done.error().detail;
    }
}

std::int64_t sql_integer(const std::string& data_dir, const std::string& sql) {
    const auto rows = sql_query(data_dir, sql);
    return rows.empty() ? -1 : rows.front().integer(0).value_or(-1);
}

std::string sql_text(const std::string& data_dir, const std::string& sql) {
    const auto rows = sql_query(data_dir, sql);
    return rows.empty() ? std::string{} : rows.front().text(0).value_or("");
}

} // namespace cdn::test
