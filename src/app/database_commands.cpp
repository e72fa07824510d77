#include "app/database_commands.h"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "app/stores.h"
#include "db/copy.h"
#include "db/postgres_database.h"

namespace cdn::app {
namespace {

bool is_sqlite(const Config& config) { return config.database.url.starts_with("sqlite://"); }

core::Result<void> check_target_url(const std::string& url) {
    const bool postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    auto parsed = postgres ? db::PostgresDatabase::check_url(url)
                           : core::Result<void>(core::make_error(core::Errc::InvalidRequest,
                                                                 "expected postgres://..."));
    if (!parsed) {
        return core::make_field_error(core::Errc::InvalidRequest, "--to",
                                      "--to: not a PostgreSQL URL: " + parsed.error().message);
    }
    return {};
}

/** The target with the same pool and timeouts as the configured database, not migrated yet
 *  (db::copy_database first checks it holds nothing else). */
core::Result<db::DatabasePtr> connect_target(const Config& config, const std::string& url) {
    DatabaseConfig target = config.database;
    target.url = url;
    auto connected = connect_postgres(target);
    if (!connected) {
        return core::make_error(core::Errc::Unavailable,
                                "cannot reach the --to database: " + connected.error().detail);
    }
    return connected;
}

std::string describe(const std::vector<db::CopiedTable>& tables) {
    std::string out;
    std::int64_t total = 0;
    for (const auto& table : tables) {
        out += fmt::format("{}: {}\n", table.table, table.rows);
        total += table.rows;
    }
    return out + fmt::format("copied {} tables, {} rows", tables.size(), total);
}

} // namespace

core::Result<std::string> copy_database_to(const Config& config, const std::string& url) {
    CDN_TRY_VOID(check_target_url(url));
    if (!is_sqlite(config)) {
        return core::make_field_error(core::Errc::InvalidRequest, "database.url",
                                      "db copy reads the embedded SQLite database, but "
                                      "database.url is not sqlite://");
    }
    CDN_TRY(source, open_database(config));
    CDN_TRY(target, connect_target(config, url));
    const auto scratch = (std::filesystem::path(config.data_dir) / "db-copy-snapshot.db").string();
    CDN_TRY(copied, db::copy_database_snapshot(*source, *target, scratch));
    return describe(copied);
}

core::Result<std::string> backup_database(const Config& config, const std::string& file) {
    if (!is_sqlite(config)) {
        return core::make_field_error(
            core::Errc::InvalidRequest, "database.url",
            "backup copies the embedded SQLite database; back up PostgreSQL with pg_dump and "
            "restore it with pg_restore (docs/operations.md)");
    }
    CDN_TRY(database, open_database(config));
    CDN_TRY_VOID(database->backup_to(file));
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(file, ec);
    return fmt::format("backup written to {} ({} bytes)", file, ec ? 0 : bytes);
}

} // namespace cdn::app
