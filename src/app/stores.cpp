#include "app/stores.h"

#include <chrono>
#include <filesystem>

#include "db/migrations.h"
#include "db/postgres_start.h"
#include "db/sqlite_database.h"
#include "kv/memory_kv_store.h"
#include "kv/redis_kv_store.h"
#include "storage/local_blob_store.h"
#include "storage/s3_blob_store.h"

namespace cdn::app {
namespace {

core::Result<db::DatabasePtr> open_postgres(const DatabaseConfig& config) {
    CDN_TRY(database, connect_postgres(config));
    CDN_TRY_VOID(db::migrate(*database));
    return database;
}

core::Result<storage::BlobStorePtr> open_s3_store(const Config& config) {
    const StorageConfig& s3 = config.storage;
    CDN_TRY(store, storage::S3BlobStore::create(
                       {.endpoint = s3.endpoint,
                        .bucket = s3.bucket,
                        .region = s3.region.empty() ? "us-east-1" : s3.region,
                        .access_key = s3.access_key,
                        .secret_key = s3.secret_key,
                        .path_style = s3.path_style,
                        .connect_timeout = std::chrono::milliseconds(s3.connect_timeout_ms),
                        .timeout = std::chrono::milliseconds(s3.timeout_ms),
                        .max_attempts = static_cast<int>(s3.max_attempts),
                        .breaker_failures = static_cast<int>(s3.breaker_failures),
                        .breaker_cooldown = std::chrono::milliseconds(s3.breaker_cooldown_ms),
                        .multipart_threshold_bytes = s3.multipart_threshold_bytes,
                        .max_object_bytes = config.limits.max_original_bytes}));
    // operations.md: a dependency that cannot be reached stops start-up (exit 1), naming it.
    if (auto usable = store->check(); !usable) {
        return core::make_error(core::Errc::Unavailable,
                                "the S3 store cannot be used: bucket \"" + s3.bucket + "\" at " +
                                    s3.endpoint + " (check the endpoint, bucket and keys)",
                                usable.error().detail);
    }
    return storage::BlobStorePtr(std::move(store));
}

core::Result<storage::BlobStorePtr> open_blob_store(const Config& config) {
    if (config.storage.kind == "s3") {
        return open_s3_store(config);
    }
    return storage::LocalBlobStore::create(
        config.storage.root,
        {.max_path_segments = static_cast<std::size_t>(config.storage.max_path_segments),
         .max_object_bytes = config.limits.max_original_bytes});
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
    CDN_TRY(blobs, open_blob_store(config));
    return Stores{std::move(database), std::move(blobs)};
}

} // namespace cdn::app
