#pragma once

#include "app/config.h"
#include "core/result.h"
#include "db/database.h"
#include "kv/kv_store.h"
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

/** The KV store `[kv] url` names: in-process when empty, else Redis, waited for up to
 *  `[database] connect_timeout_ms` like the database (Errc::Unavailable naming kv.url then). */
core::Result<kv::KvStorePtr> open_kv_store(const Config& config);

/** Connects to the PostgreSQL database `config.url` names, without migrating it. */
core::Result<db::DatabasePtr> connect_postgres(const DatabaseConfig& config);

} // namespace cdn::app
