#include <gtest/gtest.h>

#include <fstream>

#include "fixtures.h"
#include "openapi_validator.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

TEST(Cli, VersionPrints) {
    const auto r = run_imagecdn({"version"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(r.out.starts_with("imagecdn ")) << r.out;
}

TEST(Cli, UnknownConfigKeyExits2NamingIt) {
    TempDir dir;
    const auto file = dir.path() + "/bad.toml";
    std::ofstream(file) << "[server]\nlisten = \"127.0.0.1:9\"\nbogus_key = 1\n";
    const auto r = run_imagecdn({"migrate", "--config", file, "--data-dir", dir.path()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("server.bogus_key"), std::string::npos) << r.err;
}

TEST(Cli, BadValueAndUnknownVariableExit2) {
    TempDir dir;
    auto r = run_imagecdn({"migrate", "--data-dir", dir.path()},
                          {{"IMAGECDN_CACHE_MEMORY_BYTES", "lots"}});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("IMAGECDN_CACHE_MEMORY_BYTES"), std::string::npos) << r.err;
    r = run_imagecdn({"migrate", "--data-dir", dir.path()}, {{"IMAGECDN_CACHE_NOPE", "1"}});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("IMAGECDN_CACHE_NOPE"), std::string::npos) << r.err;
}

TEST(Cli, MigrateIsIdempotentAndCustomerCreatePrintsKeys) {
    TempDir dir;
    auto r = run_imagecdn({"migrate", "--data-dir", dir.path()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto first = r.out;
    r = run_imagecdn({"migrate", "--data-dir", dir.path()});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, first);
    r = run_imagecdn({"customer", "create", "--data-dir", dir.path(), "--email", "a@example.com",
                      "--plan", "pro"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("\"public_key\":\"pk_"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"api_key\":\"sk_"), std::string::npos) << r.out;
    r = run_imagecdn({"customer", "create", "--data-dir", dir.path(), "--email", "b@example.com",
                      "--plan", "platinum"});
    EXPECT_EQ(r.exit_code, 2);
    r = run_imagecdn({"customer", "create", "--data-dir", dir.path(), "--email", "a@example.com"});
    EXPECT_EQ(r.exit_code, 1);
}

TEST(Cli, SignUrlMatchesTheSharedVectors) {
    // The first vector of tests/vectors/signed_urls.json, which the JS helper also checks.
    const auto vectors = read_file(std::string(IMAGECDN_SOURCE_DIR) + "/tests/vectors/signed_urls.json");
    const auto field = [&](const std::string& name) {
        const auto at = vectors.find("\"" + name + "\"");
        const auto start = vectors.find('"', vectors.find(':', at) + 1) + 1;
        return vectors.substr(start, vectors.find('"', start) - start);
    };
    const auto r = run_imagecdn({"sign-url", field("url"), "--secret", field("secret")});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, field("signed") + "\n");
    EXPECT_EQ(run_imagecdn({"sign-url", "/a.png?s=x", "--secret", "k"}).exit_code, 2);
}

TEST(Cli, UnknownSubcommandIsBadUsage) {
    EXPECT_EQ(run_imagecdn({"frobnicate"}).exit_code, 2);
}

} // namespace
} // namespace cdn::test

namespace cdn::test {
namespace {

TEST(Roles, SplitRoleRefusesToStartWithoutASharedInternalSecret) {
    TempDir dir;
    const auto result = run_imagecdn(
        {"serve", "--role", "edge", "--data-dir", dir.path(), "--listen", "127.0.0.1:0"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("internal_secret"), std::string::npos) << result.err;
}

TEST(Roles, EdgeAndApiNodesServeOnlyTheirRoutes) {
    TempDir dir;
    const auto pk = create_customer(dir.path(), "roles@example.com");
    put_original(dir.path(), pk, "logo.png", sample_png());
    {
        ServerProcess edge(dir.path(), {}, {"--role", "edge"});
        ASSERT_TRUE(edge.start()) << edge.stderr_text();
        EXPECT_EQ(http_request(edge.port(), "GET", "/" + pk + "/logo.png")->status, 200);
        const WithoutApiRoutes edge_node;
        EXPECT_EQ(http_request(edge.port(), "GET", "/api/v1/customer")->status, 404);
    }
    ServerProcess api(dir.path(), {}, {"--role", "api"});
    ASSERT_TRUE(api.start()) << api.stderr_text();
    EXPECT_EQ(http_request(api.port(), "GET", "/" + pk + "/logo.png")->status, 404);
    // The API answers (401 without credentials), so its routes are mounted.
    EXPECT_EQ(http_request(api.port(), "GET", "/api/v1/customer")->status, 401);
}

} // namespace
} // namespace cdn::test
