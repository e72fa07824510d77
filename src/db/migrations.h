#pragma once

#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/** One schema version: portable statements (TEXT, BIGINT, INTEGER 0/1) applied together. */
struct Migration {
    int version;
    std::vector<std::string_view> statements;
    /** A dialect ("postgres") when the statements fix what only that engine needs; the other
     *  engines record the version without running them, so one number means one schema. */
    std::string_view only_on = {};
};

/** Every migration, in version order. Released migrations are never edited, only appended. */
const std::vector<Migration>& migrations();

/**
 * Brings the schema up to the newest migration, each in its own transaction, recording it in
 * `schema_migrations`. Safe to run again (a no-op) and from several processes at once: it all
 * runs under Database::exclusively(), so one process migrates and the others then find it done.
 * @return the schema version now in place.
 * Errc::Internal, its message naming both versions, if the database is newer than this binary.
 */
core::Result<int> migrate(Database& db, const core::Clock& clock);

/** migrate() stamping `applied_at` with the system clock. */
core::Result<int> migrate(Database& db);

} // namespace cdn::db
