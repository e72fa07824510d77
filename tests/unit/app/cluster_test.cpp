#include "app/cluster.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cdn::app {
namespace {

Config config_with(const std::vector<std::string>& env) {
    auto config = load_config("", "/srv/data", env);
    EXPECT_TRUE(config) << config.error().message;
    return config ? *config : Config{};
}

std::string fingerprint(const std::vector<std::string>& env, const std::string& internal = "i") {
    return config_fingerprint(config_with(env), internal);
}

TEST(ConfigFingerprint, IsEqualForNodesThatDifferOnlyInTheirOwnSettings) {
    const auto base = fingerprint({});
    EXPECT_EQ(base.size(), 16u);
    EXPECT_EQ(fingerprint({"IMAGECDN_SERVER_LISTEN=10.0.0.2:9000", "IMAGECDN_SERVER_THREADS=8",
                           "IMAGECDN_CACHE_MEMORY_BYTES=1000000", "IMAGECDN_KV_TIMEOUT_MS=50",
                           "IMAGECDN_LIMITS_MAX_CONCURRENT_TRANSFORMS=3",
                           // read by one role only: an edge has no JWT secret of its own to share
                           "IMAGECDN_AUTH_JWT_SECRET=edge-has-no-use-for-it-0123456789abcd",
                           "IMAGECDN_KV_EXPECTED_NODES=3"}),
              base);
    // The same database reached as another user: the location is what must match.
    EXPECT_EQ(fingerprint({"IMAGECDN_DATABASE_URL=postgres://a:x@db:5432/cdn"}),
              fingerprint({"IMAGECDN_DATABASE_URL=postgres://b:y@db:5432/cdn"}));
}

TEST(ConfigFingerprint, ChangesWithEverySettingTheNodesMustShare) {
    const auto base = fingerprint({});
    EXPECT_NE(fingerprint({}, "another internal secret"), base);
    for (const char* setting :
         {"IMAGECDN_STORAGE_ROOT=/elsewhere", "IMAGECDN_DATABASE_URL=sqlite:///other.db",
          "IMAGECDN_CACHE_SHARED_TIER=true", "IMAGECDN_LIMITS_MAX_OUTPUT_DIMENSION=4096",
          "IMAGECDN_PLANS_FREE_RATE_LIMIT_RPS=7", "IMAGECDN_BILLING_GRACE_DAYS=3",
          "IMAGECDN_STORAGE_MAX_PATH_SEGMENTS=4"}) {
        EXPECT_NE(fingerprint({setting}), base) << setting;
    }
}

} // namespace
} // namespace cdn::app
