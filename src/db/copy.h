#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/** One table `copy_database` filled, with the rows it now holds. */
struct CopiedTable {
    std::string table;
    std::int64_t rows = 0;
};

/**
 * Copies every table of the SQLite database `source` into the empty database `target` (the move
 * of an embedded install to PostgreSQL). The tables and their columns are read from the
 * source's own catalogue, so a table added by a future migration is copied without a list to
 * keep. In order:
 *  - `target` may hold no table the source lacks, then it is migrated to the newest schema
 *    (db::migrate) and must have no row in any table (`schema_migrations` aside);
 *  - every table is read in one source transaction (one snapshot) and written in one target
 *    transaction, in foreign-key order, in batched multi-row INSERTs;
 *  - each table's row count in the target is checked against the source's before committing.
 * `schema_migrations` is not copied: both sides are at the same version by then. No table has a
 * generated key (ids are made by the service), so there is no sequence to move on.
 *
 * @return the copied tables in the order written, with their row counts.
 * Errc::Conflict when `target` is not empty (nothing is written); Errc::InvalidRequest when
 * `source` is not SQLite, a schema version differs, or a column has a type the copy does not
 * map (BLOB); the databases' own errors otherwise.
 */
core::Result<std::vector<CopiedTable>> copy_database(Database& source, Database& target);

/**
 * copy_database() from a snapshot of `source` taken with backup_to() into `scratch_file`
 * (removed afterwards), so a server writing to `source` is neither blocked nor seen half-way.
 */
core::Result<std::vector<CopiedTable>> copy_database_snapshot(Database& source, Database& target,
                                                              const std::string& scratch_file);

/** The tables of `db` (SQLite or PostgreSQL, its current schema), sorted by name. */
core::Result<std::vector<std::string>> list_tables(Database& db);

} // namespace cdn::db
