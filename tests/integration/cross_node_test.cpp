// Issue 16: several API nodes (separate `imagecdn serve --role api` processes) on one PostgreSQL
// and one object store, with requests racing across them: the storage quota holds, an upload
// token is used once, a refresh token rotates once, usage flushes all count and writes of one
// path take turns, decided by the database, not by a lock inside one process.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "db/postgres_database.h"

#include "fixtures.h"
#include "postgres_process.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;

constexpr int NODES = 2;
constexpr int RACERS = 12;

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++count;
    }
    return count;
}

class CrossNodeTest : public ::testing::Test {
protected:
    /** Starts NODES api nodes on a fresh PostgreSQL database and one shared store, with `env`
     *  added, then signs a customer up through the first. */
    void start(Headers env) {
        auto& postgres = PostgresProcess::shared();
        database_url_ = postgres.url(postgres.create_database());
        env["IMAGECDN_DATABASE_URL"] = database_url_;
        env["IMAGECDN_STORAGE_ROOT"] = store_.path();
        // What every node of one deployment shares, so a login on one is good on the others.
        env["IMAGECDN_AUTH_JWT_SECRET"] = "cross-node-jwt-secret-0123456789abcdef";
        for (int i = 0; i < NODES; ++i) {
            data_dirs_.push_back(std::make_unique<TempDir>());
            nodes_.push_back(std::make_unique<ServerProcess>(data_dirs_.back()->path(), env,
                                                             std::vector<std::string>{"--role",
                                                                                      "api"}));
            // One after the other: the first migrates the empty database.
            ASSERT_TRUE(nodes_.back()->start()) << nodes_.back()->stderr_text();
        }
        const Headers json{{"Content-Type", "application/json"}};
        const auto signup = http_request(
            port(0), "POST", "/api/v1/auth/signup", json,
            R"({"email":"race@example.com","password":"correct horse battery"})");
        ASSERT_TRUE(signup);
        ASSERT_EQ(signup->status, 201) << signup->body;
        public_key_ = json_string(signup->body, "public_key");
        refresh_token_ = json_string(signup->body, "refresh_token");
        const auto key =
            http_request(port(1), "POST", "/api/v1/keys",
                         {{"Content-Type", "application/json"},
                          {"Authorization",
                           "Bearer " + json_string(signup->body, "access_token")}},
                         R"({"name":"race"})");
        ASSERT_TRUE(key);
        ASSERT_EQ(key->status, 201) << key->body;
        api_key_ = json_string(key->body, "secret");
    }

    int port(int racer) const { return nodes_[racer % NODES]->port(); }

    /** Runs `request(racer)` on RACERS threads released at once; the statuses by racer (0 when
     *  no answer came). */
    std::vector<int> race(const std::function<std::optional<RawResponse>(int)>& request) {
        std::vector<int> statuses(RACERS, 0);
        std::latch start(RACERS);
        std::vector<std::thread> threads;
        for (int racer = 0; racer < RACERS; ++racer) {
            threads.emplace_back([&, racer] {
                start.arrive_and_wait();
                const auto res = request(racer);
                statuses[racer] = res ? res->status : 0;
                if (res && res->status >= 500) {
                    ADD_FAILURE() << res->status << " " << res->body;
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        return statuses;
    }

    /** Bytes of the customer's objects in the shared store. */
    std::uintmax_t stored_bytes() const {
        std::uintmax_t total = 0;
        const auto dir = std::filesystem::path(store_.path()) / public_key_;
        if (!std::filesystem::exists(dir)) {
            return 0;
        }
        for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
            total += entry.is_regular_file() ? entry.file_size() : 0;
        }
        return total;
    }

    std::string database_url_;
    TempDir store_;
    std::vector<std::unique_ptr<TempDir>> data_dirs_;
    std::vector<std::unique_ptr<ServerProcess>> nodes_;
    std::string public_key_;
    std::string api_key_;
    std::string refresh_token_;
};

TEST_F(CrossNodeTest, UploadsRacedOnTwoNodesStayWithinTheStorageQuota) {
    const auto& png = sample_png();
    // Room for three copies, not four.
    const auto quota = png.size() * 3 + png.size() / 2;
    ASSERT_NO_FATAL_FAILURE(
        start({{"IMAGECDN_PLANS_FREE_STORAGE_QUOTA_BYTES", std::to_string(quota)}}));

    const auto statuses = race([&](int racer) {
        return http_request(port(racer), "PUT",
                            "/api/v1/images/race/" + std::to_string(racer) + ".png",
                            {{"X-API-Key", api_key_}, {"Content-Type", "image/png"}}, png);
    });
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 201), 3);
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 402), RACERS - 3);
    EXPECT_LE(stored_bytes(), quota);
    EXPECT_EQ(stored_bytes(), png.size() * 3);

    // Both nodes see the same three, and the same refusal for a fourth.
    for (int node = 0; node < NODES; ++node) {
        const auto listed = api_call(port(node), "GET", "/api/v1/images?prefix=race/", api_key_);
        EXPECT_EQ(occurrences(listed.body, R"("path":"race/)"), 3U) << listed.body;
        const auto over = api_call(port(node), "PUT", "/api/v1/images/one-more.png", api_key_,
                                   png, {{"Content-Type", "image/png"}});
        EXPECT_EQ(over.status, 402) << over.body;
        EXPECT_EQ(error_code(over), "storage_quota_exceeded");
    }
}

TEST_F(CrossNodeTest, OneUploadUrlRacedOnTwoNodesStoresOnce) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    const auto& png = sample_png();
    const auto issued =
        api_call(port(0), "POST", "/api/v1/images/upload-url", api_key_,
                 R"({"path":"once.png","content_type":"image/png","size":)" +
                     std::to_string(png.size()) + "}");
    ASSERT_EQ(issued.status, 200) << issued.body;
    auto url = json_string(issued.body, "url");
    const auto target = url.substr(url.find("/api/v1/uploads/"));

    const auto statuses = race([&](int racer) {
        return http_request(port(racer), "PUT", target, {{"Content-Type", "image/png"}}, png);
    });
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 201), 1);
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 403), RACERS - 1);
    EXPECT_EQ(stored_bytes(), png.size());
}

TEST_F(CrossNodeTest, OneRefreshTokenPresentedToTwoNodesRotatesOnce) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    ASSERT_FALSE(refresh_token_.empty());
    const auto statuses = race([&](int racer) {
        return http_request(port(racer), "POST", "/api/v1/auth/refresh",
                            {{"Content-Type", "application/json"}},
                            R"({"refresh_token":")" + refresh_token_ + R"("})");
    });
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 401), RACERS - 1);
}

TEST_F(CrossNodeTest, UsageFlushesToTwoNodesForTheSameHoursAllCount) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    // As edge nodes flush: the same two customer-hours from every racer, one of them twice.
    constexpr std::int64_t HOUR = 1'710'028'800;
    const auto item = [](std::int64_t hour, int requests, int bytes) {
        return R"({"customer_id":"c-race","hour":)" + std::to_string(hour) +
               R"(,"requests":)" + std::to_string(requests) + R"(,"bytes_out":)" +
               std::to_string(bytes) + "}";
    };
    const auto body = R"({"items":[)" + item(HOUR, 1, 100) + "," + item(HOUR + 59, 2, 10) + "," +
                      item(HOUR + 3600, 1, 1) + "]}";
    const auto statuses = race([&](int racer) {
        return http_request(port(racer), "POST", "/internal/v1/usage",
                            {{"Authorization",
                              std::string("Bearer ") + ServerProcess::INTERNAL_SECRET},
                             {"Content-Type", "application/json"}},
                            body);
    });
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 202), RACERS);

    auto database = db::PostgresDatabase::open({.url = database_url_});
    ASSERT_TRUE(database) << database.error().detail;
    auto rows = (*database)->query("SELECT hour, requests, bytes_out FROM usage_hourly "
                                   "WHERE customer_id = 'c-race' ORDER BY hour");
    ASSERT_TRUE(rows) << rows.error().detail;
    ASSERT_EQ(rows->size(), 2U);
    EXPECT_EQ((*rows)[0].integer(0), HOUR);
    EXPECT_EQ((*rows)[0].integer(1), 3 * RACERS);
    EXPECT_EQ((*rows)[0].integer(2), 110 * RACERS);
    EXPECT_EQ((*rows)[1].integer(1), RACERS);
    EXPECT_EQ((*rows)[1].integer(2), RACERS);
}

TEST_F(CrossNodeTest, WritesOfOnePathOnTwoNodesNeverInterleave) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    const auto& png = sample_png();
    const auto& jpeg = sample_jpeg();
    const auto statuses = race([&](int racer) {
        return http_request(port(racer), "PUT", "/api/v1/images/same",
                            {{"X-API-Key", api_key_}, {"Content-Type", "image/png"}},
                            racer % 3 == 0 ? jpeg : png);
    });
    // One write created the path; the others replaced it, or found it being written (409, to
    // retry), never both at once.
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 201), 1);
    for (const int status : statuses) {
        EXPECT_TRUE(status == 200 || status == 201 || status == 409) << status;
    }
    // The row describes the version the store holds, on both nodes.
    const auto stored = read_file(store_.path() + "/" + public_key_ + "/same");
    for (int node = 0; node < NODES; ++node) {
        const auto meta = api_call(port(node), "GET", "/api/v1/images/same", api_key_);
        ASSERT_EQ(meta.status, 200) << meta.body;
        EXPECT_EQ(json_string(meta.body, "content_type"),
                  stored == jpeg ? "image/jpeg" : "image/png");
        EXPECT_NE(meta.body.find("\"size\":" + std::to_string(stored.size()) + ","),
                  std::string::npos)
            << meta.body;
    }
}

} // namespace
} // namespace cdn::test
