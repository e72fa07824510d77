#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "db/database.h"

namespace cdn::test {

// SQL straight on the database the servers and commands of `data_dir` use (test_database_url in
// server_process.h): the embedded SQLite file (imagecdn.db, waiting out a busy server) or the
// test's PostgreSQL database. Write it portably: `$N` placeholders, no engine's own functions.

/** The rows of one statement with `$1..$N` bound to `params`; fails the test on an error. */
db::Rows sql_query(const std::string& data_dir, const std::string& sql,
                   std::vector<db::Value> params = {});

/** Runs one statement; fails the test on an error. */
void sql_exec(const std::string& data_dir, const std::string& sql,
              std::vector<db::Value> params = {});

/** The first column of the first row of `sql` as an integer (-1 when there is none). */
std::int64_t sql_integer(const std::string& data_dir, const std::string& sql);

/** The first column of the first row of `sql` as text (empty when there is none or NULL). */
std::string sql_text(const std::string& data_dir, const std::string& sql);

} // namespace cdn::test
