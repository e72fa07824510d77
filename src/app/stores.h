#pragma once

#include "app/config.h"
#include "core/result.h"
#include "db/database.h"
#include "storage/blob_store.h"

namespace cdn::app {

/** The persistent backends chosen by the config: database (migrated) and object store. */
struct Stores {
    db::DatabasePtr database;
    storage::BlobStorePtr blobs;
};

/** Opens the database named by `[database] url` (migrating it) and the `[storage]` store. */
core::Result<Stores> open_stores(const Config& config);

/** Opens and migrates the database only (for `migrate` and `customer create`). */
core::Result<db::DatabasePtr> open_database(const Config& config);

/** Connects to the PostgreSQL database `config.url` names, without migrating it. */
core::Result<db::DatabasePtr> connect_postgres(const DatabaseConfig& config);

} // namespace cdn::app
