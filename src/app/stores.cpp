#include "app/stores.h"

#include <chrono>
#include <filesystem>

#include "db/migrations.h"
#include "db/postgres_start.h"
#include "db/sqlite_database.h"
#include "kv/memory_kv_store.h"
#include "kv/redis_kv_store.h"
#include "storage/local_blob_store.h"

namespace cdn::app {
namespace {

core::Result<db::DatabasePtr> open_postgres(const DatabaseConfig& config) {
    CDN_TRY(database, connect_postgres(config));
    CDN_TRY_VOID(db::migrate(*database));
    return database;
}

} // namespace

core::Result<db::DatabasePtr> connect_postgres(const DatabaseConfig& config) {
    using std::chrono::milliseconds;
    // Nodes often start with (or before) their database: waited for up to connect_timeout_ms.
    return db::open_postgres_within(
        {.url = config.url,
         .pool_size = config.pool_size,
         .pool_wait = milliseconds(config.statement_timeout_ms),
         .connect_timeout = milliseconds(config.connect_timeout_ms),
         .statement_timeout = milliseconds(config.statement_timeout_ms)},
        milliseconds(config.connect_timeout_ms));
}

core::Result<db::DatabasePtr> open_database(const Config& config) {
    const std::string_view url = config.database.url;
    if (!url.starts_with("sqlite://")) {
        // config validation let through only sqlite:// and well-formed postgres URLs.
        return open_postgres(config.database);
    }
    const std::filesystem::path path(url.substr(std::string_view("sqlite://").size()));
    std::error_code ec;
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
    }
    CDN_TRY(database, db::SqliteDatabase::open(path.string()));
    CDN_TRY_VOID(db::migrate(*database));
    return database;
}

core::Result<kv::KvStorePtr> open_kv_store(const Config& config) {
    using std::chrono::milliseconds;
    if (config.kv.url.empty()) {
        // Stateless: one clock for every in-process store of the process.
        static const core::SystemClock clock;
        return kv::KvStorePtr(std::make_unique<kv::MemoryKvStore>(clock));
    }
    CDN_TRY(endpoint, kv::parse_redis_url(config.kv.url)); // validated with the config
    // One start-up budget for both shared dependencies: nodes often start with them.
    CDN_TRY(store, kv::RedisKvStore::open({.endpoint = std::move(endpoint),
                                           .prefix = config.kv.prefix,
                                           .timeout = milliseconds(config.kv.timeout_ms)},
                                          milliseconds(config.database.connect_timeout_ms)));
    return kv::KvStorePtr(std::move(store));
}

core::Result<Stores> open_stores(const Config& config) {
    CDN_TRY(database, open_database(config));
    if (config.storage.kind != "local") {
        return core::make_error(core::Errc::Unavailable,
                                "only the local object store is supported by this build yet");
    }
    CDN_TRY(blobs, storage::LocalBlobStore::create(
                       config.storage.root,
                       {.max_path_segments = static_cast<std::size_t>(
                            config.storage.max_path_segments)}));
    return Stores{std::move(database), std::move(blobs)};
}

} // namespace cdn::app
