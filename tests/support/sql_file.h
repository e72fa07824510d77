#pragma once

#include <cstdint>
#include <string>

namespace cdn::test {

/** Runs SQL (one or more statements) on the SQLite database of `data_dir` (imagecdn.db),
 *  waiting out a busy server; fails the test on an error. */
void sql_exec(const std::string& data_dir, const std::string& sql);

/** The first column of the first row of `sql` as an integer (-1 when there is none). */
std::int64_t sql_integer(const std::string& data_dir, const std::string& sql);

/** The first column of the first row of `sql` as text (empty when there is none or NULL). */
std::string sql_text(const std::string& data_dir, const std::string& sql);

} // namespace cdn::test
