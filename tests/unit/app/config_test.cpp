#include "app/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/strings.h"

namespace cdn::app {
namespace {

std::string write_toml(const std::string& text) {
    char name[] = "/tmp/imagecdn-config-XXXXXX";
    const int fd = mkstemp(name);
    close(fd);
    std::ofstream(name) << text;
    return name;
}

TEST(Config, DefaultsNeedNoFile) {
    auto config = load_config("", "/srv/data", {});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->server.listen, "127.0.0.1:8080");
    EXPECT_EQ(config->server.max_url_bytes, 8192u);
    EXPECT_EQ(config->database.url, "sqlite:///srv/data/imagecdn.db");
    EXPECT_EQ(config->storage.root, "/srv/data/originals");
    EXPECT_EQ(config->cache.disk_path, "/srv/data/cache");
    EXPECT_EQ(config->cache.memory_bytes, 268435456u);
    EXPECT_EQ(config->limits.max_original_pixels, 100000000u);
    EXPECT_EQ(config->server.public_base_url, "http://127.0.0.1:8080");
    ASSERT_EQ(config->plans.size(), 3u);
    EXPECT_EQ(config->plans.at("pro").max_dimension, 4096u);
    EXPECT_FALSE(config->plans.at("free").avif);
}

// [server] node_name goes out as the X-Served-By header value as it is: nothing that could end
// the header line or split the value is accepted.
TEST(Config, NodeNameIsEmptyByDefaultAndOnlyVisibleAscii) {
    auto config = load_config("", "/srv/data", {});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->server.node_name, "") << "the server names itself {hostname}:{port}";
    config = load_config("", "/srv/data", {"IMAGECDN_SERVER_NODE_NAME=edge-fra-1"});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->server.node_name, "edge-fra-1");
    for (const auto* bad : {"edge 1", "edge\r\nX-Evil: 1", "n\xc3\xa9ud", "\t"}) {
        config = load_config("", "/srv/data", {std::string("IMAGECDN_SERVER_NODE_NAME=") + bad});
        ASSERT_FALSE(config) << bad;
        EXPECT_NE(config.error().message.find("server.node_name"), std::string::npos);
    }
    config = load_config("", "/srv/data", {"IMAGECDN_SERVER_NODE_NAME=" + std::string(129, 'n')});
    EXPECT_FALSE(config) << "at most 128 characters";
}

TEST(Config, DashboardDirDefaultsToTheBuildTreeAndCanBeSet) {
    auto config = load_config("", "/srv/data", {});
    ASSERT_TRUE(config) << config.error().message;
    // Compiled in (src/app/CMakeLists.txt), so a fresh build serves its own dashboard.
    EXPECT_TRUE(config->dashboard.dir.ends_with("/dashboard/dist")) << config->dashboard.dir;
    config = load_config("", "/srv/data", {"IMAGECDN_DASHBOARD_DIR={data_dir}/www"});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->dashboard.dir, "/srv/data/www");
    const auto file = write_toml("[dashboard]\ndir = \"/opt/dashboard\"\n");
    config = load_config(file, "d", {});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->dashboard.dir, "/opt/dashboard");
    std::remove(file.c_str());
}

TEST(Config, EnvOverridesFileOverridesDefaults) {
    const auto file = write_toml(
        "[server]\nlisten = \"0.0.0.0:9000\"\nmax_url_bytes = 4096\n"
        "[cache]\nmemory_bytes = 1000\n[plans.pro]\nrate_limit_rps = 7\n"
        "[plans.team_plus]\nprice_usd = 49.5\navif = true\n");
    auto config = load_config(file, "d", {"IMAGECDN_CACHE_MEMORY_BYTES=2000",
                                          "IMAGECDN_PLANS_TEAM_PLUS_RATE_LIMIT_RPS=9",
                                          "IMAGECDN_LOG_FORMAT=text", "PATH=/usr/bin"});
    std::remove(file.c_str());
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->server.listen, "0.0.0.0:9000");
    EXPECT_EQ(config->server.max_url_bytes, 4096u);
    EXPECT_EQ(config->cache.memory_bytes, 2000u);
    EXPECT_EQ(config->plans.at("pro").rate_limit_rps, 7u);
    EXPECT_EQ(config->plans.at("pro").max_dimension, 4096u);
    EXPECT_EQ(config->plans.at("team_plus").price_usd, 49.5);
    EXPECT_TRUE(config->plans.at("team_plus").avif);
    EXPECT_EQ(config->plans.at("team_plus").rate_limit_rps, 9u);
    EXPECT_EQ(config->log.format, "text");
}

TEST(Config, TenantIsolationLimitsHaveTheirDefaultsAndCanBeSet) {
    auto config = load_config("", "/srv/data", {});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->server.max_connections_per_client, 256u);
    EXPECT_EQ(config->server.first_byte_timeout_ms, 5000u);
    EXPECT_EQ(config->server.min_bytes_per_second, 1024u);
    EXPECT_TRUE(config->server.trusted_proxies.empty());
    EXPECT_EQ(config->storage.max_path_segments, 32u);
    EXPECT_EQ(config->limits.max_output_pixels, 40000000u);
    EXPECT_EQ(config->limits.transform_queue_per_customer, 16u);
    EXPECT_EQ(config->tenant_limits.purge_requests_per_minute, 60u);
    EXPECT_EQ(config->tenant_limits.unmetered_previews_per_hour, 600u);

    const auto file = write_toml("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n");
    config = load_config(file, "/srv/data", {});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->server.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
    config = load_config(file, "/srv/data", {"IMAGECDN_SERVER_TRUSTED_PROXIES=127.0.0.1, 10.1.2.3"});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->server.trusted_proxies, (std::vector<std::string>{"127.0.0.1", "10.1.2.3"}));
    std::remove(file.c_str());

    const auto bad = write_toml("[server]\ntrusted_proxies = \"10.0.0.1\"\n");
    config = load_config(bad, "/srv/data", {});
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find("server.trusted_proxies"), std::string::npos);
    std::remove(bad.c_str());
}

TEST(Config, MalformedTrustedProxyIsRefusedNamingTheKeyAndTheEntry) {
    for (const char* entry : {"proxy.example", "10.0.0.0/33", "2001:db8::/129", "1.2.3"}) {
        const auto config = load_config(
            "", "/srv/data", {std::string("IMAGECDN_SERVER_TRUSTED_PROXIES=10.0.0.0/8,") + entry});
        ASSERT_FALSE(config) << entry;
        EXPECT_NE(config.error().message.find("server.trusted_proxies"), std::string::npos)
            << config.error().message;
        EXPECT_NE(config.error().message.find(entry), std::string::npos) << config.error().message;
    }
    EXPECT_TRUE(load_config("", "/srv/data",
                            {"IMAGECDN_SERVER_TRUSTED_PROXIES=10.0.0.0/8, ::1, 2001:db8::/32"}));
}

TEST(Config, EveryBadKeyIsNamed) {
    const auto file = write_toml("[server]\nlistn = \"x\"\nthreads = -1\n[nosuch]\na = 1\n"
                                 "[log]\nformat = \"xml\"\n[plans.pro]\navif = \"yes\"\n");
    auto config = load_config(file, "d", {"IMAGECDN_SERVER_BOGUS=1"});
    std::remove(file.c_str());
    ASSERT_FALSE(config);
    const auto& message = config.error().message;
    for (const char* key : {"server.listn", "server.threads", "nosuch.a", "log.format",
                            "plans.pro.avif", "IMAGECDN_SERVER_BOGUS"}) {
        EXPECT_NE(message.find(key), std::string::npos) << key << " not in: " << message;
    }
}

TEST(Config, S3StorageNeedsItsSettingsAndNoRoot) {
    const std::vector<std::string> s3 = {
        "IMAGECDN_STORAGE_KIND=s3", "IMAGECDN_STORAGE_ENDPOINT=http://127.0.0.1:9000",
        "IMAGECDN_STORAGE_BUCKET=originals", "IMAGECDN_STORAGE_ACCESS_KEY=k",
        "IMAGECDN_STORAGE_SECRET_KEY=s", "IMAGECDN_STORAGE_TIMEOUT_MS=5000"};
    const auto config = load_config("", "d", s3);
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->storage.timeout_ms, 5000u);
    EXPECT_EQ(config->storage.connect_timeout_ms, 2000u);
    EXPECT_EQ(config->storage.multipart_threshold_bytes, 16000000u);
    EXPECT_EQ(config->storage.max_attempts, 3u);
    EXPECT_EQ(config->storage.breaker_failures, 5u);
    EXPECT_EQ(config->storage.breaker_cooldown_ms, 5000u);
    for (const auto& [setting, key] :
         {std::pair{"IMAGECDN_STORAGE_ENDPOINT=127.0.0.1:9000", "storage.endpoint"},
          std::pair{"IMAGECDN_STORAGE_BUCKET=", "storage.bucket"},
          std::pair{"IMAGECDN_STORAGE_SECRET_KEY=", "storage.secret_key"},
          std::pair{"IMAGECDN_STORAGE_ROOT=/srv/originals", "storage.root"},
          std::pair{"IMAGECDN_STORAGE_MAX_ATTEMPTS=0", "max_attempts"},
          std::pair{"IMAGECDN_STORAGE_BREAKER_FAILURES=0", "breaker_failures"},
          std::pair{"IMAGECDN_STORAGE_BREAKER_COOLDOWN_MS=0", "breaker_cooldown_ms"}}) {
        auto changed = s3;
        changed.emplace_back(setting);
        const auto refused = load_config("", "d", changed);
        ASSERT_FALSE(refused) << setting;
        EXPECT_NE(refused.error().message.find(key), std::string::npos) << refused.error().message;
    }
}

// operations.md: [cache] shared_tier is on by default exactly with the S3 store.
TEST(Config, TheSharedTierIsOnByDefaultWithS3AndAsConfiguredOtherwise) {
    const std::vector<std::string> s3 = {
        "IMAGECDN_STORAGE_KIND=s3", "IMAGECDN_STORAGE_ENDPOINT=http://127.0.0.1:9000",
        "IMAGECDN_STORAGE_BUCKET=originals", "IMAGECDN_STORAGE_ACCESS_KEY=k",
        "IMAGECDN_STORAGE_SECRET_KEY=s"};
    EXPECT_TRUE(load_config("", "d", s3)->cache.shared_tier);
    EXPECT_FALSE(load_config("", "d", {})->cache.shared_tier);
    auto off = s3;
    off.emplace_back("IMAGECDN_CACHE_SHARED_TIER=false");
    EXPECT_FALSE(load_config("", "d", off)->cache.shared_tier);
    const auto on = load_config("", "d", {"IMAGECDN_CACHE_SHARED_TIER=true"});
    EXPECT_TRUE(on->cache.shared_tier) << "a shared local root (NFS) may be shared too";
    EXPECT_EQ(on->cache.shared_wait_ms, 10000u);
}

TEST(Config, DecodedCacheBytesHaveADefaultAndCanBeTurnedOff) {
    EXPECT_EQ(load_config("", "d", {})->cache.decoded_bytes, 134217728u);
    const auto off = load_config("", "d", {"IMAGECDN_CACHE_DECODED_BYTES=0"});
    ASSERT_TRUE(off) << off.error().message;
    EXPECT_EQ(off->cache.decoded_bytes, 0u);
    EXPECT_FALSE(load_config("", "d", {"IMAGECDN_CACHE_DECODED_BYTES=lots"}));
}

TEST(Config, OriginalsInFlightHaveADefaultAndMustHoldTwoOfTheLargest) {
    EXPECT_EQ(load_config("", "d", {})->limits.originals_in_flight_bytes, 1000000000u);
    EXPECT_TRUE(load_config("", "d", {"IMAGECDN_LIMITS_ORIGINALS_IN_FLIGHT_BYTES=0"}));
    EXPECT_TRUE(load_config("", "d", {"IMAGECDN_LIMITS_ORIGINALS_IN_FLIGHT_BYTES=200000000"}));
    // A customer may hold half: below twice the largest original, that one could never be read.
    const auto small = load_config("", "d", {"IMAGECDN_LIMITS_ORIGINALS_IN_FLIGHT_BYTES=199999999"});
    ASSERT_FALSE(small);
    EXPECT_NE(small.error().message.find("limits.originals_in_flight_bytes"), std::string::npos);
}

TEST(Config, MalformedTomlIsAnError) {
    const auto file = write_toml("[server\nlisten=");
    auto config = load_config(file, "d", {});
    std::remove(file.c_str());
    EXPECT_FALSE(config);
}

TEST(Config, SemanticChecks) {
    EXPECT_FALSE(load_config("", "d", {"IMAGECDN_DATABASE_URL=mysql://x"}));
    EXPECT_FALSE(load_config("", "d", {"IMAGECDN_KV_URL=memcached://x"}));
    EXPECT_FALSE(load_config("", "d", {"IMAGECDN_SERVER_LISTEN=nohostport"}));
    EXPECT_TRUE(load_config("", "d", {"IMAGECDN_KV_URL=redis://127.0.0.1:6379"}));
}

TEST(Config, KvSectionDefaultsAndOverrides) {
    auto defaults = load_config("", "d", {});
    ASSERT_TRUE(defaults);
    EXPECT_EQ(defaults->kv.url, "");
    EXPECT_EQ(defaults->kv.prefix, "imagecdn:");
    EXPECT_EQ(defaults->kv.timeout_ms, 200U);
    EXPECT_EQ(defaults->kv.expected_nodes, 1U);
    EXPECT_EQ(defaults->kv.degraded_config_ttl_seconds, 5U);
    auto set = load_config("", "d",
                           {"IMAGECDN_KV_URL=redis://:pw@cache.internal:6380/2",
                            "IMAGECDN_KV_PREFIX=staging:", "IMAGECDN_KV_TIMEOUT_MS=50",
                            "IMAGECDN_KV_EXPECTED_NODES=4",
                            "IMAGECDN_KV_DEGRADED_CONFIG_TTL_SECONDS=2"});
    ASSERT_TRUE(set) << set.error().message;
    EXPECT_EQ(set->kv.prefix, "staging:");
    EXPECT_EQ(set->kv.timeout_ms, 50U);
    EXPECT_EQ(set->kv.expected_nodes, 4U);
    EXPECT_EQ(set->kv.degraded_config_ttl_seconds, 2U);
}

TEST(Config, AMalformedOrUnsupportedKvUrlNamesTheKeyWithoutThePassword) {
    for (const char* url : {"rediss://:hunter2@h:6379", "redis://:hunter2@h:99999",
                            "redis://:hunter2@h:6379/x", "redis://:hunter2@", "redis//h:6379"}) {
        auto config = load_config("", "d", {std::string("IMAGECDN_KV_URL=") + url});
        ASSERT_FALSE(config) << url;
        EXPECT_NE(config.error().message.find("kv.url"), std::string::npos) << url;
        EXPECT_EQ(config.error().message.find("hunter2"), std::string::npos) << url;
    }
    EXPECT_FALSE(load_config("", "d", {"IMAGECDN_KV_TIMEOUT_MS=0"}));
    EXPECT_FALSE(load_config("", "d", {"IMAGECDN_KV_EXPECTED_NODES=0"}));
}

TEST(Config, APostgresUrlIsCheckedWithoutConnecting) {
    for (const char* url : {"postgres://u:hunter2@[::1/db",
                            "postgres://u:hunter2@h/db?no_such_option=1", "postgresql//h/db"}) {
        auto config = load_config("", "d", {std::string("IMAGECDN_DATABASE_URL=") + url});
        ASSERT_FALSE(config) << url;
        EXPECT_NE(config.error().message.find("database.url"), std::string::npos) << url;
        EXPECT_EQ(config.error().message.find("hunter2"), std::string::npos) << url;
    }
    auto good = load_config("", "d", {"IMAGECDN_DATABASE_URL=postgres://u:p@db.internal:5432/cdn",
                                      "IMAGECDN_DATABASE_POOL_SIZE=8",
                                      "IMAGECDN_DATABASE_STATEMENT_TIMEOUT_MS=2000"});
    ASSERT_TRUE(good) << good.error().message;
    EXPECT_EQ(good->database.pool_size, 8u);
    EXPECT_EQ(good->database.statement_timeout_ms, 2000u);
    EXPECT_EQ(good->database.connect_timeout_ms, 10000u);
}

TEST(Config, OurOwnSecretsShorterThan32BytesAreRefusedNamingTheKey) {
    const std::string short_secret(31, 'k');
    const std::string long_enough(32, 'k');
    for (const char* key : {"JWT_SECRET", "INTERNAL_SECRET"}) {
        auto config = load_config("", "d", {std::string("IMAGECDN_AUTH_") + key + "=" + short_secret});
        ASSERT_FALSE(config) << key;
        const auto named = "auth." + core::to_lower(key);
        EXPECT_NE(config.error().message.find(named), std::string::npos) << config.error().message;
        EXPECT_TRUE(load_config("", "d", {std::string("IMAGECDN_AUTH_") + key + "=" + long_enough}))
            << key;
    }
    const auto file = write_toml("[auth]\njwt_secret = \"short\"\n");
    auto from_file = load_config(file, "d", {});
    std::remove(file.c_str());
    ASSERT_FALSE(from_file);
    EXPECT_NE(from_file.error().message.find("auth.jwt_secret"), std::string::npos);
    // Empty means generated; third-party credentials are not ours to judge.
    EXPECT_TRUE(load_config("", "d", {"IMAGECDN_AUTH_JWT_SECRET=",
                                      "IMAGECDN_STRIPE_WEBHOOK_SECRET=whsec_x",
                                      "IMAGECDN_STRIPE_SECRET_KEY=sk_x"}));
}

} // namespace
} // namespace cdn::app
