#pragma once

#include <string>

#include "app/config.h"
#include "core/result.h"

namespace cdn::app {

/**
 * `imagecdn db copy --to URL`: copies the data directory's SQLite database into the empty
 * PostgreSQL database at `url` (db::copy_database, from a snapshot so a running server is not
 * blocked), after migrating it to the same schema.
 * @return what it copied, one "table: rows" line each.
 * Errc::InvalidRequest (field "--to") for a URL that is not postgres://...; Errc::Conflict for a
 * target that is not empty; Errc::Unavailable naming the target when it cannot be reached.
 */
core::Result<std::string> copy_database_to(const Config& config, const std::string& url);

/**
 * `imagecdn backup --to FILE`: a consistent copy of the SQLite database, taken while a server
 * may be writing to it (db::Database::backup_to).
 * @return a line naming the file written and its size.
 * Errc::InvalidRequest pointing to pg_dump when the database is PostgreSQL.
 */
core::Result<std::string> backup_database(const Config& config, const std::string& file);

} // namespace cdn::app
