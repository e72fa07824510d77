#include "db/copy.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

#include "db/migrations.h"
#include "db/sqlite_database.h"

namespace cdn::db {
namespace {

/** Recorded by db::migrate on each side, so never copied. */
constexpr std::string_view MIGRATIONS_TABLE = "schema_migrations";
/** Rows of one multi-row INSERT, fewer for wide tables: PostgreSQL binds at most 65535
 *  parameters in one statement. */
constexpr std::size_t BATCH_ROWS = 500;
constexpr std::size_t BATCH_PARAMETERS = 30000;

constexpr std::string_view SQLITE_TABLES =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
    "ESCAPE '\\' ORDER BY name";
constexpr std::string_view POSTGRES_TABLES =
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
    "AND table_type = 'BASE TABLE' ORDER BY table_name";

struct Table {
    std::string name;
    std::vector<std::string> columns;
    /** Tables its foreign keys reference. */
    std::vector<std::string> parents;
};

/** A catalogue name as an SQL identifier. */
std::string identifier(std::string_view name) {
    std::string out = "\"";
    for (const char c : name) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    return out + "\"";
}

std::string column_list(const Table& table) {
    std::string out;
    for (const auto& column : table.columns) {
        out += (out.empty() ? "" : ", ") + identifier(column);
    }
    return out;
}

/** Every value of a column declared BLOB would arrive in PostgreSQL as TEXT (and fail on a
 *  NUL byte), so such a column stops the copy before anything is written. */
core::Result<std::vector<std::string>> copyable_columns(Database& source,
                                                        const std::string& table) {
    CDN_TRY(rows,
            source.query("SELECT name, upper(type) FROM pragma_table_info($1) ORDER BY cid",
                         {Value{table}}));
    std::vector<std::string> columns;
    for (const auto& row : rows) {
        const auto name = row.text(0).value_or("");
        if (row.text(1).value_or("").find("BLOB") != std::string::npos) {
            return core::make_error(core::Errc::InvalidRequest,
                                    "column " + table + "." + name +
                                        " is a BLOB, which db copy does not map");
        }
        columns.push_back(name);
    }
    return columns;
}

core::Result<Table> describe(Database& source, const std::string& name) {
    CDN_TRY(columns, copyable_columns(source, name));
    CDN_TRY(references, source.query("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list($1)",
                                     {Value{name}}));
    Table table{name, std::move(columns), {}};
    for (const auto& row : references) {
        table.parents.push_back(row.text(0).value_or(""));
    }
    return table;
}

/** `tables` reordered so that each comes after every table it references (a cycle, which
 *  the schema does not have, keeps its members in name order at the end). */
std::vector<Table> parents_first(std::vector<Table> tables) {
    std::vector<Table> ordered;
    std::vector<std::string> placed;
    const auto is_placed = [&](const std::string& name) {
        return std::find(placed.begin(), placed.end(), name) != placed.end();
    };
    while (!tables.empty()) {
        const auto ready = std::find_if(tables.begin(), tables.end(), [&](const Table& t) {
            return std::all_of(t.parents.begin(), t.parents.end(), [&](const std::string& p) {
                return p == t.name || is_placed(p);
            });
        });
        const auto next = ready == tables.end() ? tables.begin() : ready;
        placed.push_back(next->name);
        ordered.push_back(std::move(*next));
        tables.erase(next);
    }
    return ordered;
}

/** The source's tables to copy, parents first. */
core::Result<std::vector<Table>> read_schema(Database& source) {
    CDN_TRY(names, list_tables(source));
    std::vector<Table> tables;
    for (const auto& name : names) {
        if (name != MIGRATIONS_TABLE) {
            CDN_TRY(table, describe(source, name));
            tables.push_back(std::move(table));
        }
    }
    return parents_first(std::move(tables));
}

/** A table in the target that imagecdn's schema does not have means it is some other
 *  application's database: refused before migrating adds anything to it. */
core::Result<void> check_no_foreign_tables(Database& target, const std::vector<Table>& tables) {
    CDN_TRY(names, list_tables(target));
    for (const auto& name : names) {
        const bool ours = name == MIGRATIONS_TABLE ||
                          std::any_of(tables.begin(), tables.end(),
                                      [&](const Table& t) { return t.name == name; });
        if (!ours) {
            return core::make_error(core::Errc::Conflict,
                                    "the target database is not empty: it has a table " + name +
                                        " (db copy only fills an empty database)");
        }
    }
    return {};
}

core::Result<void> check_empty(Database& target, const std::vector<Table>& tables) {
    for (const auto& table : tables) {
        CDN_TRY(rows, target.query("SELECT 1 FROM " + identifier(table.name) + " LIMIT 1"));
        if (!rows.empty()) {
            return core::make_error(core::Errc::Conflict,
                                    "the target database is not empty: table " + table.name +
                                        " has rows (db copy only fills an empty database)");
        }
    }
    return {};
}

core::Result<int> schema_version(Database& db) {
    CDN_TRY(rows, db.query("SELECT MAX(version) FROM schema_migrations"));
    return static_cast<int>(rows.empty() ? 0 : rows.front().integer(0).value_or(0));
}

/** Migrates `target` to the newest schema, which the source must be at too. */
core::Result<void> migrate_to_source_version(Database& source, Database& target) {
    CDN_TRY(source_version, schema_version(source));
    CDN_TRY(target_version, migrate(target));
    if (source_version != target_version) {
        return core::make_error(core::Errc::InvalidRequest,
                                "the source database is at schema version " +
                                    std::to_string(source_version) + ", this binary's is " +
                                    std::to_string(target_version) + ": run imagecdn migrate");
    }
    return {};
}

core::Result<std::int64_t> count_rows(Database& db, const Table& table) {
    CDN_TRY(rows, db.query("SELECT COUNT(*) FROM " + identifier(table.name)));
    return rows.empty() ? 0 : rows.front().integer(0).value_or(0);
}

/** One multi-row INSERT of `rows`, whose first value (the source rowid) is left out. */
core::Result<void> insert_batch(Database& target, const Table& table, const Rows& rows) {
    std::string sql =
        "INSERT INTO " + identifier(table.name) + " (" + column_list(table) + ") VALUES ";
    std::vector<Value> params;
    params.reserve(rows.size() * table.columns.size());
    for (const auto& row : rows) {
        sql += params.empty() ? "(" : ", (";
        for (std::size_t i = 1; i < row.values.size(); ++i) {
            params.push_back(row.values[i]);
            sql += (i == 1 ? "$" : ", $") + std::to_string(params.size());
        }
        sql += ")";
    }
    CDN_TRY_VOID(target.execute(sql, std::move(params)));
    return {};
}

/** Copies `table` in rowid order, one batch at a time, so memory stays bounded. */
core::Result<std::int64_t> copy_rows(Database& source, Database& target, const Table& table) {
    const auto batch = std::max<std::size_t>(
        1, std::min(BATCH_ROWS, BATCH_PARAMETERS / std::max<std::size_t>(1, table.columns.size())));
    const std::string select = "SELECT rowid, " + column_list(table) + " FROM " +
                               identifier(table.name) + " WHERE rowid > $1 ORDER BY rowid LIMIT " +
                               std::to_string(batch);
    std::int64_t last = std::numeric_limits<std::int64_t>::min();
    std::int64_t copied = 0;
    for (;;) {
        CDN_TRY(rows, source.query(select, {Value{last}}));
        if (rows.empty()) {
            return copied;
        }
        last = rows.back().integer(0).value_or(last);
        CDN_TRY_VOID(insert_batch(target, table, rows));
        copied += static_cast<std::int64_t>(rows.size());
    }
}

/** copy_rows, then the counts on both sides must agree with what was copied. */
core::Result<std::int64_t> copy_table(Database& source, Database& target, const Table& table) {
    CDN_TRY(copied, copy_rows(source, target, table));
    CDN_TRY(in_source, count_rows(source, table));
    CDN_TRY(in_target, count_rows(target, table));
    if (copied != in_source || in_target != in_source) {
        return core::make_error(core::Errc::Internal, "row counts differ after the copy",
                                table.name + ": source " + std::to_string(in_source) +
                                    ", copied " + std::to_string(copied) + ", target " +
                                    std::to_string(in_target));
    }
    return copied;
}

void remove_database_files(const std::string& file) {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(file + suffix, ignored);
    }
}

} // namespace

core::Result<std::vector<std::string>> list_tables(Database& db) {
    CDN_TRY(rows, db.query(db.dialect() == "sqlite" ? SQLITE_TABLES : POSTGRES_TABLES));
    std::vector<std::string> names;
    for (const auto& row : rows) {
        names.push_back(row.text(0).value_or(""));
    }
    return names;
}

core::Result<std::vector<CopiedTable>> copy_database(Database& source, Database& target) {
    if (source.dialect() != "sqlite") {
        return core::make_error(core::Errc::InvalidRequest,
                                "db copy reads the embedded SQLite database");
    }
    CDN_TRY(tables, read_schema(source));
    CDN_TRY_VOID(check_no_foreign_tables(target, tables));
    CDN_TRY_VOID(migrate_to_source_version(source, target));
    std::vector<CopiedTable> copied;
    CDN_TRY_VOID(target.transaction([&](Database& out) -> core::Result<void> {
        // PostgreSQL may run this body again after a serialization failure.
        copied.clear();
        CDN_TRY_VOID(check_empty(out, tables));
        // One source transaction: every table is read from the same snapshot.
        return source.transaction([&](Database& in) -> core::Result<void> {
            for (const auto& table : tables) {
                CDN_TRY(rows, copy_table(in, out, table));
                copied.push_back({table.name, rows});
            }
            return {};
        });
    }));
    return copied;
}

core::Result<std::vector<CopiedTable>> copy_database_snapshot(Database& source, Database& target,
                                                              const std::string& scratch_file) {
    CDN_TRY_VOID(source.backup_to(scratch_file));
    auto copied = [&]() -> core::Result<std::vector<CopiedTable>> {
        CDN_TRY(snapshot, SqliteDatabase::open(scratch_file));
        return copy_database(*snapshot, target);
    }();
    remove_database_files(scratch_file);
    return copied;
}

} // namespace cdn::db
