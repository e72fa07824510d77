#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"
#include "db/database.h"
#include "db/postgres_connection.h"

namespace cdn::db {

/** `url` as it may be shown to an operator: the password (`user:password@`, `?password=`)
 *  left out, everything else as given. */
std::string url_without_password(std::string_view url);

/**
 * PostgresDatabase::open, tried again while the server cannot be reached (not up yet, or
 * restarting) with a jittered back-off from 100 ms doubling to 1 s, until `within` has passed;
 * then Errc::Unavailable whose message names the database by url_without_password() (libpq's
 * last reason in `detail`). For start-up: it blocks the calling thread.
 */
core::Result<DatabasePtr> open_postgres_within(PostgresOptions options,
                                               std::chrono::milliseconds within);

} // namespace cdn::db
