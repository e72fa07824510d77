#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "billing/billing_state.h"
#include "account/plan.h"
#include "billing/stripe_client.h"
#include "core/log.h"
#include "core/result.h"
#include "http/server.h"
#include "transform/limits.h"

namespace cdn::app {

/** [storage]: where originals live. */
struct StorageConfig {
    /** "local" (files under root) or "s3". */
    std::string kind = "local";
    std::string root = "{data_dir}/originals";
    std::string endpoint;
    std::string bucket;
    std::string region;
    std::string access_key;
    std::string secret_key;
    bool path_style = true;
    /** s3: connect and whole-request timeouts of one attempt. */
    std::uint64_t connect_timeout_ms = 2000;
    std::uint64_t timeout_ms = 30000;
    /** s3: tries of an idempotent request on no answer, a timeout, 5xx, 429 or SlowDown. */
    std::uint64_t max_attempts = 3;
    /** s3: after this many failed requests in a row the store fails fast for
     *  breaker_cooldown_ms, then lets one request through to probe it. */
    std::uint64_t breaker_failures = 5;
    std::uint64_t breaker_cooldown_ms = 5000;
    /** s3: larger puts go in parts of this size (at least 5 MiB), aborted on failure. */
    std::uint64_t multipart_threshold_bytes = 16'000'000;
    /** Most path segments of an original's key inside the customer's namespace (the public
     *  key does not count): deeper is 400 invalid_path at upload, 404 at delivery. */
    std::uint64_t max_path_segments = 32;
};

/** [database]: "sqlite://{path}" (embedded default) or "postgres://...". */
struct DatabaseConfig {
    std::string url = "sqlite://{data_dir}/imagecdn.db";
    /** PostgreSQL connections at most; 0 = 2 × cores. */
    unsigned pool_size = 0;
    std::uint64_t connect_timeout_ms = 10000;
    std::uint64_t statement_timeout_ms = 5000;
};

/** [kv]: "" for in-process, or "redis://[:password@]host:port[/db]" (docs/config.md). */
struct KvConfig {
    std::string url;
    /** Starts every Redis key and channel name: one Redis may serve several deployments. */
    std::string prefix = "imagecdn:";
    /** Bounds every wait of a Redis command (a connection, a write, a read). */
    std::uint64_t timeout_ms = 200;
    /** Nodes sharing the global limits: while Redis is unreachable each allows limit / N. */
    std::uint64_t expected_nodes = 1;
    /** The customer-config cache TTL while Redis is unreachable (no invalidations arrive). */
    std::uint64_t degraded_config_ttl_seconds = 5;
};

/** [cache]: the variant cache tiers and the customer config cache. */
struct CacheConfig {
    std::uint64_t memory_bytes = 268'435'456;
    std::string disk_path = "{data_dir}/cache";
    /** 0 disables the disk tier. */
    std::uint64_t disk_bytes = 2'147'483'648;
    std::uint64_t config_ttl_seconds = 300;
    /** How long an unknown public key or host is remembered as unknown. */
    std::uint64_t negative_ttl_seconds = 10;
    /** Variants also kept in the object store under `_variants/`, shared by every edge; when
     *  not configured, on exactly when `[storage] kind = "s3"`. */
    bool shared_tier = false;
    /** With Redis: how long an edge that lost a variant's lease waits for the holder's shared
     *  write before transforming itself. */
    std::uint64_t shared_wait_ms = 10'000;
    /** Decoded originals kept in memory for their next variant (docs/perf.md "Decode once,
     *  serve many"); 0 turns the cache off. One entry is at most a quarter of it. */
    std::uint64_t decoded_bytes = 134'217'728;
};

/** [limits] that bound what one customer may ask of the management API. */
struct TenantLimits {
    /** Purge requests per customer and minute; settings writes are limited alike (429 with
     *  Retry-After above). */
    std::uint64_t purge_requests_per_minute = 60;
    /** Dashboard previews a node leaves unmetered per customer and hour; beyond that they are
     *  metered like any request (docs/previews.md: a copied pass cannot carry real traffic). */
    std::uint64_t unmetered_previews_per_hour = 600;
};

/** [auth]: secrets are generated into the data dir on first run when not configured. */
/** Shortest `[auth] jwt_secret` / `internal_secret` accepted: 256 bits, as HMAC-SHA256 keys. */
inline constexpr std::size_t MIN_OWN_SECRET_BYTES = 32;

struct AuthConfig {
    /** Empty: generated into the data directory. */
    std::string jwt_secret;
    std::string internal_secret;
    std::uint64_t access_ttl_seconds = 900;
    std::uint64_t refresh_ttl_seconds = 2'592'000;
};

struct UsageConfig {
    std::uint64_t flush_interval_ms = 5000;
    /** How often an edge node re-reads a customer's month-to-date bandwidth from the database
     *  (bytes it serves itself count at once). */
    std::uint64_t quota_refresh_seconds = 30;
};

/** [metrics] listen: "" serves /metrics on the main listener to the internal secret only. */
struct MetricsConfig {
    std::string listen;
};

/** The built dashboard of this build tree (IMAGECDN_DASHBOARD_DIR, set by CMake). */
std::string default_dashboard_dir();

/** [dashboard] dir: the built web app served at /dashboard/ (roles all and api). */
struct DashboardConfig {
    std::string dir = default_dashboard_dir();
};

struct StripeConfig {
    std::string api_base = "https://api.stripe.com";
    std::string secret_key;
    std::string webhook_secret;
    std::uint64_t timeout_ms = 10000;
};

struct BillingConfig {
    std::uint64_t grace_days = 7;
    std::string meter_event_name = "imagecdn_overage_bytes";
    /** How often a server (role all|api) looks for finished days' overage to report; 0 never
     *  (then run `imagecdn billing report-overage` from cron). */
    std::uint64_t overage_report_interval_seconds = 3600;
    /** A day is reported this long after it ended, once late usage flushes have landed. */
    std::uint64_t settle_seconds = 3600;
};

/** The Stripe client's settings from [stripe]. */
billing::StripeEndpoint stripe_endpoint(const StripeConfig& stripe);

/** The past-due grace period from [billing] grace_days. */
billing::GracePolicy grace_policy(const BillingConfig& billing);

/** The whole configuration: defaults, then the TOML file, then IMAGECDN_* variables. */
struct Config {
    std::string data_dir = "./data";
    http::ServerConfig server;
    StorageConfig storage;
    DatabaseConfig database;
    KvConfig kv;
    CacheConfig cache;
    transform::Limits limits;
    TenantLimits tenant_limits;
    AuthConfig auth;
    UsageConfig usage;
    MetricsConfig metrics;
    DashboardConfig dashboard;
    StripeConfig stripe;
    BillingConfig billing;
    account::PlanTable plans = account::default_plans();
    core::LogConfig log;
    /** The keys the file or the environment set ("server.max_connections"), for defaults that
     *  adapt to the machine while configured values are held to. */
    std::set<std::string> configured;
};

/**
 * Loads the config: built-in defaults, then `file` (if not empty), then every IMAGECDN_*
 * environment variable in `env` (entries "NAME=value"). Unknown keys, unknown IMAGECDN_
 * variables and bad values are errors naming the key; all of them are reported together.
 * `{data_dir}` in paths is replaced by `data_dir`.
 */
core::Result<Config> load_config(const std::string& file, const std::string& data_dir,
                                 const std::vector<std::string>& env);

} // namespace cdn::app
