// The whole path a customer follows (issue 5): sign up, log in, make an API key, upload through
// a presigned URL, see the image listed, served and transformed by the edge, delete it, and see
// the original and its variant gone. On the embedded SQLite and on PostgreSQL.
#include <gtest/gtest.h>

#include <filesystem>

#include "db/postgres_database.h"

#include "fixtures.h"
#include "postgres_process.h"
#include "raw_http.h"
#include "server_process.h"
#include "sql_file.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;

/** The whole flow against a server started with `env` (its database, say). */
void signup_to_delivery_to_delete(const std::map<std::string, std::string>& env) {
    TempDir dir;
    ServerProcess server(dir.path(), env);
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto call = [&](const std::string& method, const std::string& target,
                          const Headers& headers, const std::string& body = {}) {
        auto res = http_request(server.port(), method, target, headers, body);
        EXPECT_TRUE(res) << method << " " << target;
        return res ? *res : RawResponse{};
    };
    const Headers json{{"Content-Type", "application/json"}};

    const auto signup = call("POST", "/api/v1/auth/signup", json,
                             R"({"email":"flow@example.com","password":"correct horse battery"})");
    ASSERT_EQ(signup.status, 201) << signup.body;
    const auto public_key = json_string(signup.body, "public_key");
    ASSERT_FALSE(public_key.empty());

    const auto login = call("POST", "/api/v1/auth/login", json,
                            R"({"email":"flow@example.com","password":"correct horse battery"})");
    ASSERT_EQ(login.status, 200) << login.body;
    auto with_jwt = json;
    with_jwt["Authorization"] = "Bearer " + json_string(login.body, "access_token");

    const auto key = call("POST", "/api/v1/keys", with_jwt, R"({"name":"ci"})");
    ASSERT_EQ(key.status, 201) << key.body;
    auto with_key = json;
    with_key["X-API-Key"] = json_string(key.body, "secret");

    const auto& png = sample_png();
    const auto issued = call("POST", "/api/v1/images/upload-url", with_key,
                             R"({"path":"flow/logo.png","content_type":"image/png","size":)" +
                                 std::to_string(png.size()) + "}");
    ASSERT_EQ(issued.status, 200) << issued.body;
    auto url = json_string(issued.body, "url");
    url = url.substr(url.find("/api/v1/"));
    const auto uploaded = call("PUT", url, {{"Content-Type", "image/png"}}, png);
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;

    const auto listed = call("GET", "/api/v1/images?prefix=flow/", with_key);
    EXPECT_EQ(listed.status, 200);
    EXPECT_NE(listed.body.find(R"("path":"flow/logo.png")"), std::string::npos) << listed.body;
    EXPECT_NE(listed.body.find(R"("width":)"), std::string::npos);

    const auto original = call("GET", "/" + public_key + "/flow/logo.png", {});
    EXPECT_EQ(original.status, 200);
    EXPECT_EQ(original.body, png);
    const auto variant = call("GET", "/" + public_key + "/flow/logo.png?w=20&format=json", {});
    EXPECT_EQ(variant.status, 200);
    EXPECT_NE(variant.body.find(R"("output":{"width":20)"), std::string::npos) << variant.body;
    EXPECT_EQ(call("GET", "/" + public_key + "/flow/logo.png?w=20&format=json", {})
                  .header("x-cache"),
              "HIT");

    EXPECT_EQ(call("DELETE", "/api/v1/images/flow/logo.png", with_key).status, 204);
    EXPECT_EQ(call("GET", "/" + public_key + "/flow/logo.png", {}).status, 404);
    const auto gone = call("GET", "/" + public_key + "/flow/logo.png?w=20&format=json", {});
    EXPECT_EQ(gone.status, 404);
    EXPECT_NE(gone.header("x-cache"), "HIT");
    EXPECT_EQ(call("GET", "/api/v1/images/flow/logo.png", with_key).status, 404);
}

TEST(ApiFlow, SignupToDeliveryToDelete) { signup_to_delivery_to_delete({}); }

TEST(ApiFlow, SignupToDeliveryToDeleteOnPostgres) {
    auto& postgres = PostgresProcess::shared();
    const auto url = postgres.url(postgres.create_database());
    signup_to_delivery_to_delete({{"IMAGECDN_DATABASE_URL", url}});

    // The account is in PostgreSQL, not in an embedded file.
    auto database = db::PostgresDatabase::open({.url = url});
    ASSERT_TRUE(database) << database.error().detail;
    auto accounts = (*database)->query("SELECT email FROM customers");
    ASSERT_TRUE(accounts) << accounts.error().detail;
    ASSERT_EQ(accounts->size(), 1u);
    EXPECT_EQ(accounts->front().text(0), "flow@example.com");
}

// CI runs these suites on both engines (tests/integration/CMakeLists.txt): with
// CDN_TEST_DATABASE=postgres the commands and servers of a data dir share one PostgreSQL
// database and leave no SQLite file; otherwise they use the data dir's file.
TEST(ApiFlow, CommandsAndServerUseTheEngineTheTestEnvironmentChose) {
    TempDir dir;
    const auto account = create_account(dir.path(), "engine@example.com");
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    EXPECT_EQ(api_call(server.port(), "GET", "/api/v1/keys", account.api_key).status, 200);

    const bool on_postgres = !test_database_url(dir.path()).empty();
    EXPECT_EQ(std::filesystem::exists(dir.path() + "/imagecdn.db"), !on_postgres);
    EXPECT_EQ(sql_text(dir.path(), "SELECT email FROM customers WHERE id = '" +
                                       account.customer_id + "'"),
              "engine@example.com");
}

} // namespace
} // namespace cdn::test
