#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "fixtures.h"
#include "poll_until.h"
#include "postgres_process.h"
#include "raw_http.h"
#include "server_process.h"
#include "temp_dir.h"

// PostgreSQL stopped while an api node and an edge node serve (issue 16, faults): cached images are
// still served, past the customer-config TTL too; the API answers 503 database_unavailable; /readyz
// is 503 on the api node and 200 degraded on the edge node. Then PostgreSQL comes back on the same
// port and everything recovers without a restart.

namespace cdn::test {
namespace {

using namespace std::chrono_literals;
using Headers = std::map<std::string, std::string>;

class PostgresOutage : public ::testing::Test {
protected:
    void SetUp() override {
        const std::map<std::string, std::string> env{
            {"IMAGECDN_DATABASE_URL", postgres_.url(postgres_.create_database())},
            {"IMAGECDN_STORAGE_ROOT", (store_.fs_path() / "originals").string()},
            // Expires between the first hit and the outage's hits: those need a stale entry.
            {"IMAGECDN_CACHE_CONFIG_TTL_SECONDS", "1"},
            {"IMAGECDN_DATABASE_STATEMENT_TIMEOUT_MS", "2000"},
        };
        api_.emplace(api_dir_.path(), env, std::vector<std::string>{"--role", "api"});
        ASSERT_TRUE(api_->start()) << api_->stderr_text();
        edge_.emplace(edge_dir_.path(), env, std::vector<std::string>{"--role", "edge"});
        ASSERT_TRUE(edge_->start()) << edge_->stderr_text();
    }

    RawResponse call(int port, const std::string& method, const std::string& target,
                     const Headers& headers = {}, const std::string& body = {}) {
        auto res = http_request(port, method, target, headers, body);
        EXPECT_TRUE(res) << method << " " << target;
        return res ? *res : RawResponse{};
    }

    /** Signs up, uploads logo.png through the api node; the customer's API key. */
    std::string upload(std::string& public_key) {
        const Headers json{{"Content-Type", "application/json"}};
        const auto signup =
            call(api_->port(), "POST", "/api/v1/auth/signup", json,
                 R"({"email":"outage@example.com","password":"correct horse battery"})");
        EXPECT_EQ(signup.status, 201) << signup.body;
        public_key = json_string(signup.body, "public_key");
        auto with_jwt = json;
        with_jwt["Authorization"] = "Bearer " + json_string(signup.body, "access_token");
        const auto key = call(api_->port(), "POST", "/api/v1/keys", with_jwt, R"({"name":"ci"})");
        EXPECT_EQ(key.status, 201) << key.body;
        const auto api_key = json_string(key.body, "secret");
        const auto& png = sample_png();
        const auto issued = call(api_->port(), "POST", "/api/v1/images/upload-url",
                                 {{"Content-Type", "application/json"}, {"X-API-Key", api_key}},
                                 R"({"path":"logo.png","content_type":"image/png","size":)" +
                                     std::to_string(png.size()) + "}");
        EXPECT_EQ(issued.status, 200) << issued.body;
        auto url = json_string(issued.body, "url");
        url = url.substr(url.find("/api/v1/"));
        EXPECT_EQ(call(api_->port(), "PUT", url, {{"Content-Type", "image/png"}}, png).status, 201);
        return api_key;
    }

    /** Everything working: an image uploaded through the api node is a cache hit on the edge
     *  node, and the API answers the customer's key. */
    void serve_one_image() {
        std::string public_key;
        const auto api_key = upload(public_key);
        ASSERT_FALSE(public_key.empty());
        image_ = "/" + public_key + "/logo.png?w=20";
        ASSERT_EQ(call(edge_->port(), "GET", image_).status, 200);
        ASSERT_EQ(call(edge_->port(), "GET", image_).header("x-cache"), "HIT");
        with_key_ = {{"X-API-Key", api_key}};
        ASSERT_EQ(call(api_->port(), "GET", "/api/v1/images", with_key_).status, 200);
    }

    /** A metric's value on `server`, -1 when it has none. */
    double metric(ServerProcess& server, const std::string& name) {
        return scrape_metric(server.port(), name).value_or(-1.0);
    }

    int ready_status(ServerProcess& server, std::string* body = nullptr) {
        const auto res = call(server.port(), "GET", "/readyz");
        if (body != nullptr) {
            *body = res.body;
        }
        return res.status;
    }

    PostgresProcess postgres_;
    TempDir store_;
    TempDir api_dir_;
    TempDir edge_dir_;
    std::optional<ServerProcess> api_;
    std::optional<ServerProcess> edge_;
    /** Set by serve_one_image(). */
    std::string image_;
    Headers with_key_;
};

TEST_F(PostgresOutage, HitsServedApi503ReadyzByRoleThenRecoversWithoutRestart) {
    ASSERT_NO_FATAL_FAILURE(serve_one_image());
    const auto& image = image_;
    const auto& with_key = with_key_;

    postgres_.shut_down();
    const auto started = std::chrono::steady_clock::now();
    const auto refused = call(api_->port(), "GET", "/api/v1/images", with_key);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(error_code(refused), "database_unavailable") << refused.body;
    EXPECT_EQ(refused.header("retry-after"), "5");

    std::string body;
    EXPECT_EQ(ready_status(*api_, &body), 503);
    EXPECT_NE(body.find("\"database\""), std::string::npos) << body;
    EXPECT_EQ(ready_status(*edge_, &body), 200);
    EXPECT_NE(body.find(R"("status":"degraded")"), std::string::npos) << body;
    EXPECT_NE(body.find("\"database\""), std::string::npos) << body;

    // Past the 1 s config TTL: the edge serves from a stale config, and says so in /metrics.
    EXPECT_TRUE(poll_until(
        [&] {
            const auto hit = call(edge_->port(), "GET", image);
            EXPECT_EQ(hit.status, 200) << hit.body;
            return metric(*edge_, "imagecdn_config_stale_served_total") >= 1.0;
        },
        10s, 100ms));
    EXPECT_EQ(call(edge_->port(), "GET", image).status, 200);
    EXPECT_EQ(metric(*edge_, "imagecdn_config_database_up"), 0.0);

    postgres_.start_again();
    EXPECT_TRUE(poll_until(
        [&] { return call(api_->port(), "GET", "/api/v1/images", with_key).status == 200; }, 10s,
        100ms));
    EXPECT_TRUE(poll_until([&] { return ready_status(*api_) == 200; }, 10s, 100ms));
    EXPECT_TRUE(poll_until(
        [&] {
            return ready_status(*edge_, &body) == 200 &&
                   body.find(R"("status":"ready")") != std::string::npos;
        },
        10s, 100ms));
    EXPECT_EQ(call(edge_->port(), "GET", image).status, 200);
}

TEST_F(PostgresOutage, AHungDatabaseIsAnsweredWithinTheStatementTimeout) {
    ASSERT_NO_FATAL_FAILURE(serve_one_image());
    const auto& image = image_;
    const auto& with_key = with_key_;

    // Connections are accepted (by the kernel) and never answered: libpq alone would wait
    // forever. Every answer comes within the 2 s statement timeout (bound: 5 s).
    postgres_.freeze();
    const auto within_bound = [&](auto answer) {
        const auto started = std::chrono::steady_clock::now();
        const auto res = answer();
        EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
        return res;
    };
    const auto hung =
        within_bound([&] { return call(api_->port(), "GET", "/api/v1/images", with_key); });
    EXPECT_EQ(hung.status, 503) << hung.body;
    EXPECT_EQ(error_code(hung), "database_unavailable") << hung.body;
    EXPECT_EQ(within_bound([&] { return ready_status(*api_); }), 503);
    EXPECT_EQ(within_bound([&] { return ready_status(*edge_); }), 200);
    EXPECT_EQ(within_bound([&] { return call(edge_->port(), "GET", image); }).status, 200);

    postgres_.thaw();
    EXPECT_TRUE(poll_until(
        [&] { return call(api_->port(), "GET", "/api/v1/images", with_key).status == 200; }, 10s,
        100ms));
    EXPECT_TRUE(poll_until([&] { return ready_status(*api_) == 200; }, 10s, 100ms));
}

} // namespace
} // namespace cdn::test
