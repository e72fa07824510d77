#include "app/fd_limit.h"

#include <gtest/gtest.h>

namespace cdn::app {
namespace {

Config load(const std::vector<std::string>& env) {
    auto config = load_config("", "/srv/data", env);
    EXPECT_TRUE(config) << config.error().message;
    return config ? *config : Config{};
}

TEST(FdLimit, DefaultMaxConnectionsIsLoweredToTheLimitLessTheReserve) {
    auto config = load({});
    ASSERT_TRUE(fit_connections_to_fd_limit(config, 1024));
    EXPECT_EQ(config.server.max_connections, 1024u - 256u);
}

TEST(FdLimit, SmallLimitsKeepHalfForConnections) {
    auto config = load({});
    ASSERT_TRUE(fit_connections_to_fd_limit(config, 300));
    EXPECT_EQ(config.server.max_connections, 150u);
}

TEST(FdLimit, ValuesThatFitAreKept) {
    auto config = load({"IMAGECDN_SERVER_MAX_CONNECTIONS=500"});
    ASSERT_TRUE(fit_connections_to_fd_limit(config, 1024));
    EXPECT_EQ(config.server.max_connections, 500u);
    auto roomy = load({});
    ASSERT_TRUE(fit_connections_to_fd_limit(roomy, 1'048'576));
    EXPECT_EQ(roomy.server.max_connections, 10000u);
}

TEST(FdLimit, ConfiguredValueAboveTheLimitNamesTheKey) {
    // Even the default's value, when configured, is held to.
    auto config = load({"IMAGECDN_SERVER_MAX_CONNECTIONS=10000"});
    const auto fits = fit_connections_to_fd_limit(config, 1024);
    ASSERT_FALSE(fits);
    EXPECT_EQ(fits.error().field, "server.max_connections");
    EXPECT_NE(fits.error().message.find("server.max_connections"), std::string::npos);
}

} // namespace
} // namespace cdn::app
