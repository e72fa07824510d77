#include "db/migrations.h"

#include <string>

namespace cdn::db {
namespace {

// exclusively()'s key for migrating: any constant no other part of imagecdn locks ("cdnmigr").
constexpr std::int64_t MIGRATION_LOCK = 0x63646e6d69677200;

constexpr std::string_view CREATE_SCHEMA_MIGRATIONS =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)";

// Portable SQL only: the PostgreSQL backend runs these same statements.
std::vector<Migration> all_migrations() {
    return {
        {1,
         {
             R"(CREATE TABLE customers (
                 id TEXT PRIMARY KEY,
                 public_key TEXT NOT NULL UNIQUE,
                 email TEXT NOT NULL UNIQUE,
                 password_hash TEXT,
                 plan TEXT NOT NULL,
                 settings TEXT NOT NULL DEFAULT '{}',
                 signing_secret TEXT NOT NULL,
                 suspended INTEGER NOT NULL DEFAULT 0,
                 billing_status TEXT NOT NULL DEFAULT 'active',
                 stripe_customer_id TEXT,
                 created_at BIGINT NOT NULL,
                 updated_at BIGINT NOT NULL
             ))",
             R"(CREATE TABLE custom_domains (
                 host TEXT PRIMARY KEY,
                 customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE
             ))",
             "CREATE INDEX custom_domains_customer ON custom_domains(customer_id)",
             R"(CREATE TABLE api_keys (
                 id TEXT PRIMARY KEY,
                 customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
                 name TEXT NOT NULL,
                 prefix TEXT NOT NULL UNIQUE,
                 secret_hash TEXT NOT NULL,
                 created_at BIGINT NOT NULL,
                 last_used_at BIGINT
             ))",
             "CREATE INDEX api_keys_customer ON api_keys(customer_id)",
             R"(CREATE TABLE originals (
                 customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
                 path TEXT NOT NULL,
                 bytes BIGINT NOT NULL,
                 content_type TEXT NOT NULL,
                 width INTEGER,
                 height INTEGER,
                 etag TEXT NOT NULL,
                 created_at BIGINT NOT NULL,
                 updated_at BIGINT NOT NULL,
                 PRIMARY KEY (customer_id, path)
             ))",
             // No foreign key: a usage flush must never fail because its customer was deleted.
             R"(CREATE TABLE usage_hourly (
                 customer_id TEXT NOT NULL,
                 hour BIGINT NOT NULL,
                 requests BIGINT NOT NULL DEFAULT 0,
                 bytes_out BIGINT NOT NULL DEFAULT 0,
                 transforms BIGINT NOT NULL DEFAULT 0,
                 cache_hits BIGINT NOT NULL DEFAULT 0,
                 errors BIGINT NOT NULL DEFAULT 0,
                 PRIMARY KEY (customer_id, hour)
             ))",
             R"(CREATE TABLE webhook_events (
                 id TEXT PRIMARY KEY,
                 type TEXT NOT NULL,
                 created BIGINT NOT NULL,
                 processed_at BIGINT NOT NULL
             ))",
             R"(CREATE TABLE presets (
                 customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
                 name TEXT NOT NULL,
                 options TEXT NOT NULL,
                 updated_at BIGINT NOT NULL,
                 PRIMARY KEY (customer_id, name)
             ))",
         }},
        {2,
         {
             // Refresh tokens rotate: each use marks the row used and issues a sibling in the
             // same family; presenting a used token revokes the whole family.
             R"(CREATE TABLE refresh_tokens (
                 id TEXT PRIMARY KEY,
                 family_id TEXT NOT NULL,
                 customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
                 token_hash TEXT NOT NULL UNIQUE,
                 created_at BIGINT NOT NULL,
                 expires_at BIGINT NOT NULL,
                 used_at BIGINT,
                 revoked_at BIGINT
             ))",
             "CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id)",
             // Presigned uploads to the local store: single use, bound to path, type and size.
             R"(CREATE TABLE upload_tokens (
                 id TEXT PRIMARY KEY,
                 customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
                 path TEXT NOT NULL,
                 content_type TEXT NOT NULL,
                 max_bytes BIGINT NOT NULL,
                 created_at BIGINT NOT NULL,
                 expires_at BIGINT NOT NULL,
                 used_at BIGINT
             ))",
         }},
        {3,
         {
             // Billing state from Stripe (issue 7). The *_event_at columns hold the `created`
             // of the last event applied, so an older event arriving late changes nothing.
             "ALTER TABLE customers ADD COLUMN stripe_subscription_id TEXT",
             "ALTER TABLE customers ADD COLUMN past_due_since BIGINT",
             "ALTER TABLE customers ADD COLUMN subscription_event_at BIGINT NOT NULL DEFAULT 0",
             "ALTER TABLE customers ADD COLUMN invoice_event_at BIGINT NOT NULL DEFAULT 0",
             "CREATE UNIQUE INDEX customers_stripe_customer ON customers(stripe_customer_id)",
             // One overage report per customer and UTC day; reported_at stays NULL until
             // Stripe accepted it, so a failed run is retried with the same identifier.
             R"(CREATE TABLE meter_reports (
                 customer_id TEXT NOT NULL,
                 day BIGINT NOT NULL,
                 identifier TEXT NOT NULL UNIQUE,
                 bytes BIGINT NOT NULL,
                 created_at BIGINT NOT NULL,
                 reported_at BIGINT,
                 attempts INTEGER NOT NULL DEFAULT 0,
                 last_error TEXT,
                 PRIMARY KEY (customer_id, day)
             ))",
         }},
        {4,
         {
             // Uploads and deletes in progress on any API node (issue 16): each holds its path
             // (one writer per path across nodes) and the bytes it may add, counted by the
             // storage quota until the write is finished or the reservation expires.
             R"(CREATE TABLE storage_reservations (
                 customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
                 path TEXT NOT NULL,
                 id TEXT NOT NULL,
                 bytes BIGINT NOT NULL,
                 expires_at BIGINT NOT NULL,
                 PRIMARY KEY (customer_id, path)
             ))",
         }},
        // PostgreSQL compares text by the database's collation (often en_US), SQLite by bytes.
        // Paths are listed and paged in byte order, and only a "C" column lets the primary
        // key's index serve that order: without it every page sorted all of a customer's
        // originals (75 ms instead of 0.1 ms at 200,000; docs/perf.md).
        {5,
         {
             R"(ALTER TABLE originals ALTER COLUMN path TYPE TEXT COLLATE "C")",
         },
         "postgres"},
        // Uploads straight to the bucket (issue 18): `upload_id` names the upload to its
        // customer (the token stays a secret of the URL); `completion` holds the answer of the
        // upload's completion, so that completing it again answers the same.
        {6,
         {
             "ALTER TABLE upload_tokens ADD COLUMN upload_id TEXT",
             "ALTER TABLE upload_tokens ADD COLUMN completion TEXT",
             "CREATE UNIQUE INDEX upload_tokens_upload_id ON upload_tokens(upload_id)",
         }},
    };
}

core::Result<int> current_version(Database& db) {
    CDN_TRY(rows, db.query("SELECT MAX(version) FROM schema_migrations"));
    // MAX over no rows is NULL: nothing applied yet.
    return static_cast<int>(rows.empty() ? 0 : rows.front().integer(0).value_or(0));
}

core::Result<void> apply(Database& db, const Migration& migration, std::int64_t now) {
    return db.transaction([&](Database& tx) -> core::Result<void> {
        // Checked again inside the transaction: another process may have applied it since.
        CDN_TRY(done, tx.query("SELECT 1 FROM schema_migrations WHERE version = $1",
                               {std::int64_t{migration.version}}));
        if (!done.empty()) {
            return {};
        }
        const bool runs_here = migration.only_on.empty() || migration.only_on == tx.dialect();
        for (const auto statement : runs_here ? migration.statements
                                              : std::vector<std::string_view>{}) {
            CDN_TRY_VOID(tx.execute(statement));
        }
        CDN_TRY_VOID(
            tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                       {std::int64_t{migration.version}, now}));
        return {};
    });
}

core::Error newer_schema(int version, int newest) {
    return core::make_error(core::Errc::Internal,
                            "database schema version " + std::to_string(version) +
                                " is newer than this binary (" + std::to_string(newest) +
                                "): upgrade imagecdn",
                            "schema_migrations holds version " + std::to_string(version));
}

/** Everything migrate() does, run while holding MIGRATION_LOCK. */
core::Result<int> migrate_locked(Database& db, const core::Clock& clock) {
    CDN_TRY_VOID(db.execute(CREATE_SCHEMA_MIGRATIONS));
    CDN_TRY(version, current_version(db));
    const int newest = migrations().back().version;
    if (version > newest) {
        return newer_schema(version, newest);
    }
    for (const auto& migration : migrations()) {
        if (migration.version > version) {
            CDN_TRY_VOID(apply(db, migration, clock.unix_seconds()));
        }
    }
    return current_version(db);
}

} // namespace

const std::vector<Migration>& migrations() {
    static const std::vector<Migration> all = all_migrations();
    return all;
}

core::Result<int> migrate(Database& db, const core::Clock& clock) {
    // Under one lock: several nodes starting at once on PostgreSQL would otherwise race DDL
    // (CREATE TABLE IF NOT EXISTS itself fails there on a concurrent create).
    int version = 0;
    CDN_TRY_VOID(db.exclusively(MIGRATION_LOCK, [&]() -> core::Result<void> {
        CDN_TRY(reached, migrate_locked(db, clock));
        version = reached;
        return {};
    }));
    return version;
}

core::Result<int> migrate(Database& db) {
    const core::SystemClock clock;
    return migrate(db, clock);
}

} // namespace cdn::db
