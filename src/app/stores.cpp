#include "app/stores.h"

#include <filesystem>

#include "db/migrations.h"
#include "db/sqlite_database.h"
#include "storage/local_blob_store.h"

namespace cdn::app {

core::Result<db::DatabasePtr> open_database(const Config& config) {
    const std::string_view url = config.database.url;
    if (!url.starts_with("sqlite://")) {
        return core::make_error(core::Errc::Unavailable,
                                "only sqlite:// databases are supported by this build yet");
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
