// Issue 17: two `imagecdn serve` nodes on one Redis and one database and store (node A's data
// directory; node B points its [database] and [storage] there): a settings change and a purge
// made through A reach B by Redis pub/sub; with Redis gone both serve and say degraded; once it
// is back they subscribe again and changes arrive again. A purge missed while cut off is
// replayed from the purge log; a key, refresh family or upload token revoked through A is
// refused by B.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "redis_process.h"
#include "server_process.h"
#include "temp_dir.h"

namespace cdn::test {
namespace {

using namespace std::chrono_literals;
using Headers = std::map<std::string, std::string>;

constexpr auto DEGRADED = R"({"status":"degraded","degraded":["kv"]})";
constexpr auto READY = R"({"status":"ready"})";
/** Far longer than any test: a change seen before it comes from pub/sub, not from expiry. */
constexpr auto CONFIG_TTL = "3600";

class RedisFleetTest : public ::testing::Test {
protected:
    void SetUp() override {
        account_ = create_account_with_images(shared_.path(), "fleet@example.com");
        const Headers env{{"IMAGECDN_KV_URL", redis_.url()},
                          {"IMAGECDN_CACHE_CONFIG_TTL_SECONDS", CONFIG_TTL},
                          {"IMAGECDN_KV_DEGRADED_CONFIG_TTL_SECONDS", "1"},
                          {"IMAGECDN_KV_EXPECTED_NODES", "2"},
                          {"IMAGECDN_DATABASE_URL", "sqlite://" + shared_.path() + "/imagecdn.db"},
                          {"IMAGECDN_STORAGE_ROOT", shared_.path() + "/originals"}};
        a_ = std::make_unique<ServerProcess>(shared_.path(), env);
        b_ = std::make_unique<ServerProcess>(own_.path(), env);
        ASSERT_TRUE(a_->start()) << a_->stderr_text();
        ASSERT_TRUE(b_->start()) << b_->stderr_text();
    }

    RawResponse get(const ServerProcess& node, const std::string& target,
                    const Headers& headers = {}) {
        auto res = http_request(node.port(), "GET", target, headers);
        return res ? *res : RawResponse{};
    }

    /** The photo as a page of another site asks for it. */
    int photo_from_elsewhere(const ServerProcess& node) {
        return get(node, photo_, {{"Referer", "https://elsewhere.test/page"}}).status;
    }

    void allow_only(const std::string& domains_json) {
        const auto res = api_call(a_->port(), "PATCH", "/api/v1/customer/settings",
                                  account_.api_key, R"({"allowed_domains":)" + domains_json + "}");
        ASSERT_EQ(res.status, 200) << res.body;
    }

    static bool readyz_is(const ServerProcess& node, const std::string& body) {
        auto res = http_request(node.port(), "GET", "/readyz", {});
        return res && res->status == 200 && res->body == body;
    }

    RedisProcess redis_;
    TempDir shared_;
    TempDir own_;
    Account account_;
    std::string photo_; // set by each test once the public key is known
    std::unique_ptr<ServerProcess> a_;
    std::unique_ptr<ServerProcess> b_;
};

TEST_F(RedisFleetTest, ASettingsChangeThroughOneNodeReachesTheOther) {
    photo_ = "/" + account_.public_key + "/photo.jpg?w=40";
    ASSERT_EQ(photo_from_elsewhere(*b_), 200) << "B caches the config that allows every site";
    // Several changes back and forth; each must show on B (the config TTL is an hour: only the
    // invalidation can do it). How long each took is recorded, not asserted (bench/ owns speed).
    std::vector<std::int64_t> took_ms;
    for (int change = 0; change < 10; ++change) {
        const bool restrict = change % 2 == 0;
        allow_only(restrict ? R"(["example.com"])" : "[]");
        const auto changed = std::chrono::steady_clock::now();
        const int expected = restrict ? 403 : 200;
        ASSERT_TRUE(poll_until([&] { return photo_from_elsewhere(*b_) == expected; }, 5s, 1ms))
            << "change " << change;
        took_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - changed)
                              .count());
    }
    std::ranges::sort(took_ms);
    RecordProperty("change_to_node_b_p50_ms", std::to_string(took_ms[took_ms.size() / 2]));
    RecordProperty("change_to_node_b_max_ms", std::to_string(took_ms.back()));
    EXPECT_EQ(photo_from_elsewhere(*a_), 200);
}

// operations.md names the channels: with the default prefix, every node listens on these.
TEST_F(RedisFleetTest, EveryNodeListensOnTheChannelsOperationsNames) {
    for (const char* channel : {"imagecdn:config", "imagecdn:purge"}) {
        EXPECT_EQ(redis_.command({"PUBLISH", channel, "pk_nobody"}), "2") << channel;
    }
}

TEST_F(RedisFleetTest, APurgeThroughOneNodeReachesTheOther) {
    photo_ = "/" + account_.public_key + "/photo.jpg?w=50";
    EXPECT_EQ(get(*b_, photo_).header("x-cache"), "MISS");
    EXPECT_EQ(get(*b_, photo_).header("x-cache"), "HIT");
    const auto res = api_call(a_->port(), "POST", "/api/v1/purge", account_.api_key,
                              R"({"paths":["photo.jpg"]})");
    ASSERT_EQ(res.status, 202) << res.body;
    EXPECT_TRUE(poll_until([&] { return get(*b_, photo_).header("x-cache") == "MISS"; }, 5s, 10ms))
        << "B dropped its cached variant";
}

// A node cut off from Redis while the others are not misses the purge messages; it finds them in
// the purge log once it reconnects. Cutting one node's subscriber off in the window of a purge
// made through the other is not reproducible, so the test leaves in Redis what announce_purge
// leaves there for a node that missed the message (the log entry, nothing published) and then
// breaks the subscriber connections, as a network glitch would.
TEST_F(RedisFleetTest, APurgeMissedWhileCutOffIsReplayedFromTheLogOnReconnection) {
    photo_ = "/" + account_.public_key + "/photo.jpg?w=55";
    EXPECT_EQ(get(*b_, photo_).header("x-cache"), "MISS");
    EXPECT_EQ(get(*b_, photo_).header("x-cache"), "HIT");
    const auto sequence = redis_.command({"INCR", "imagecdn:purge-log:seq"});
    redis_.command({"RPUSH", "imagecdn:purge-log",
                    sequence + R"(:{"public_key":")" + account_.public_key +
                        R"(","scope":"paths","paths":["photo.jpg"]})"});
    EXPECT_EQ(get(*b_, photo_).header("x-cache"), "HIT") << "nothing was published";

    EXPECT_EQ(redis_.command({"CLIENT", "KILL", "TYPE", "pubsub"}), "2");
    EXPECT_TRUE(poll_until([&] { return get(*b_, photo_).header("x-cache") == "MISS"; }, 5s, 10ms))
        << "B replayed the logged purge once it had reconnected";
}

// Item 4: keys and tokens live in the shared database, read on every request (no node caches
// them), so a revocation through A holds on B from the very next request.
TEST_F(RedisFleetTest, AnApiKeyDeletedThroughOneNodeIsRefusedByTheOtherAtOnce) {
    const auto created =
        api_call(a_->port(), "POST", "/api/v1/keys", account_.api_key, R"({"name":"fleet"})");
    ASSERT_EQ(created.status, 201) << created.body;
    const auto secret = json_string(created.body, "secret");
    EXPECT_EQ(api_call(b_->port(), "GET", "/api/v1/customer", secret).status, 200);
    const auto id = json_string(created.body, "id");
    ASSERT_EQ(api_call(a_->port(), "DELETE", "/api/v1/keys/" + id, account_.api_key).status, 204);
    EXPECT_EQ(api_call(b_->port(), "GET", "/api/v1/customer", secret).status, 401);
}

TEST_F(RedisFleetTest, ARefreshFamilyRevokedThroughOneNodeIsRefusedByTheOther) {
    const Headers json{{"Content-Type", "application/json"}};
    const auto signup =
        http_request(a_->port(), "POST", "/api/v1/auth/signup", json,
                     R"({"email":"revoked@example.com","password":"correct horse battery"})");
    ASSERT_TRUE(signup);
    ASSERT_EQ(signup->status, 201) << signup->body;
    auto token_body = [](const std::string& token) {
        return R"({"refresh_token":")" + token + R"("})";
    };
    const auto rotated = http_request(a_->port(), "POST", "/api/v1/auth/refresh", json,
                                      token_body(json_string(signup->body, "refresh_token")));
    ASSERT_TRUE(rotated);
    ASSERT_EQ(rotated->status, 200) << rotated->body;
    const auto token = json_string(rotated->body, "refresh_token");
    const auto out = http_request(a_->port(), "POST", "/api/v1/auth/logout", json, token_body(token));
    ASSERT_TRUE(out);
    ASSERT_EQ(out->status, 204) << out->body;
    const auto refused =
        http_request(b_->port(), "POST", "/api/v1/auth/refresh", json, token_body(token));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401) << refused->body;
}

TEST_F(RedisFleetTest, AnUploadTokenUsedOnOneNodeIsRefusedByTheOther) {
    const auto& png = sample_png();
    const auto issued = api_call(a_->port(), "POST", "/api/v1/images/upload-url",
                                 account_.api_key,
                                 R"({"path":"once.png","content_type":"image/png","size":)" +
                                     std::to_string(png.size()) + "}");
    ASSERT_EQ(issued.status, 200) << issued.body;
    const auto url = json_string(issued.body, "url");
    const auto target = url.substr(url.find("/api/v1/uploads/"));
    const Headers type{{"Content-Type", "image/png"}};
    const auto used = http_request(a_->port(), "PUT", target, type, png);
    ASSERT_TRUE(used);
    EXPECT_EQ(used->status, 201) << used->body;
    const auto again = http_request(b_->port(), "PUT", target, type, png);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 403) << again->body;
}

TEST_F(RedisFleetTest, WithRedisGoneBothServeDegradedAndOnceBackChangesArriveAgain) {
    photo_ = "/" + account_.public_key + "/photo.jpg?w=60";
    ASSERT_TRUE(readyz_is(*a_, READY));
    ASSERT_TRUE(readyz_is(*b_, READY));
    allow_only("[]"); // A's settings-write limit opens a pooled connection to this Redis

    redis_.kill();
    EXPECT_TRUE(poll_until([&] { return readyz_is(*a_, DEGRADED) && readyz_is(*b_, DEGRADED); }))
        << "200 degraded, so a load balancer keeps both";
    for (const auto* node : {a_.get(), b_.get()}) {
        EXPECT_EQ(get(*node, photo_).status, 200) << "a miss is served";
        EXPECT_EQ(get(*node, photo_).status, 200) << "and a hit";
    }

    // No invalidation can come: the operator's CLI changes the shared database (and signals A
    // only); B sees it once its cached config is older than degraded_config_ttl_seconds (1 s).
    ASSERT_EQ(photo_from_elsewhere(*b_), 200);
    const auto updated = run_imagecdn_on(
        shared_.path(), {"customer", "update", account_.public_key, "--settings",
                         R"({"allowed_domains":["example.com"]})"});
    ASSERT_EQ(updated.exit_code, 0) << updated.err;
    EXPECT_TRUE(poll_until([&] { return photo_from_elsewhere(*b_) == 403; }, 5s))
        << "the config TTL is capped while Redis is gone";

    redis_.start_again();
    EXPECT_TRUE(poll_until([&] { return readyz_is(*a_, READY) && readyz_is(*b_, READY); }, 10s))
        << "both reconnected and subscribed again";
    ASSERT_EQ(photo_from_elsewhere(*b_), 403);
    allow_only("[]");
    EXPECT_TRUE(poll_until([&] { return photo_from_elsewhere(*b_) == 200; }, 5s, 10ms))
        << "a change after the restart reaches B by pub/sub again";
}

/** Answers of a node hammered by one client thread, each with when it arrived. */
struct Answers {
    std::vector<std::pair<std::chrono::steady_clock::time_point, int>> at;

    int allowed_between(std::chrono::steady_clock::time_point from,
                        std::chrono::steady_clock::time_point to) const {
        return static_cast<int>(std::ranges::count_if(at, [&](const auto& answer) {
            return answer.first >= from && answer.first < to && answer.second == 200;
        }));
    }
};

TEST_F(RedisFleetTest, AFreeCustomersBurstSplitOverBothNodesIsHeldToTheGlobalRate) {
    // The free plan allows 50 requests a second for the customer, whichever node serves them.
    photo_ = "/" + account_.public_key + "/photo.jpg?w=70";
    ASSERT_EQ(get(*a_, photo_).status, 200); // stored once: the burst is hits
    // Steady load: the first second admits 50 on each node (neither knows of the other yet),
    // which then takes a second or two to work off and settle.
    constexpr auto WARM_UP = 3s;
    constexpr auto MEASURED = 5s;
    const auto start = std::chrono::steady_clock::now();
    std::vector<Answers> answers(2);
    std::vector<std::thread> clients;
    for (std::size_t n = 0; n < 2; ++n) {
        clients.emplace_back([&, n] {
            const ServerProcess& node = n == 0 ? *a_ : *b_;
            while (std::chrono::steady_clock::now() < start + WARM_UP + MEASURED) {
                const int status = get(node, photo_).status;
                answers[n].at.emplace_back(std::chrono::steady_clock::now(), status);
            }
        });
    }
    for (auto& client : clients) {
        client.join();
    }
    const auto from = start + WARM_UP;
    const int a = answers[0].allowed_between(from, from + MEASURED);
    const int b = answers[1].allowed_between(from, from + MEASURED);
    RecordProperty("admitted_per_second", std::to_string((a + b) / 5.0));
    EXPECT_NEAR(a + b, 50 * 5, 0.05 * 50 * 5) << "A " << a << ", B " << b << " of "
                                              << answers[0].at.size() + answers[1].at.size();
}

TEST_F(RedisFleetTest, WithRedisGoneEachNodeAllowsItsPartOfTheRate) {
    // [kv] expected_nodes = 2: each node alone allows 50 / 2 = 25 requests a second.
    photo_ = "/" + account_.public_key + "/photo.jpg?w=80";
    ASSERT_EQ(get(*a_, photo_).status, 200);
    redis_.kill();
    ASSERT_TRUE(poll_until([&] { return readyz_is(*a_, DEGRADED); }));
    constexpr auto WARM_UP = 2s;
    constexpr auto MEASURED = 3s;
    const auto start = std::chrono::steady_clock::now();
    Answers answers;
    while (std::chrono::steady_clock::now() < start + WARM_UP + MEASURED) {
        const int status = get(*a_, photo_).status;
        answers.at.emplace_back(std::chrono::steady_clock::now(), status);
    }
    const int allowed = answers.allowed_between(start + WARM_UP, start + WARM_UP + MEASURED);
    // One node's own counts are exact; the slack is the sliding window's phase.
    EXPECT_NEAR(allowed, 25 * 3, 4) << "of " << answers.at.size();
}

TEST_F(RedisFleetTest, FailedLoginsSpreadOverBothNodesHitTheLimitAtTheConfiguredTotal) {
    // 10 failed logins per email per window (api-notes.md), counted in Redis: alternating
    // nodes does not give an attacker 10 per node.
    auto login = [](const ServerProcess& node) {
        auto res = http_request(node.port(), "POST", "/api/v1/auth/login",
                                {{"Content-Type", "application/json"}},
                                R"({"email":"victim@example.com","password":"guess"})");
        return res ? res->status : 0;
    };
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(login(i % 2 == 0 ? *a_ : *b_), 401) << i;
    }
    EXPECT_EQ(login(*a_), 429);
    EXPECT_EQ(login(*b_), 429);
}

TEST(RedisStartup, AMalformedOrTlsKvUrlIsExit2NamingIt) {
    TempDir dir;
    for (const char* url : {"redis://h:notaport", "rediss://:secret@h:6379"}) {
        const auto result = run_imagecdn({"serve", "--data-dir", dir.path()},
                                         {{"IMAGECDN_KV_URL", url}});
        EXPECT_EQ(result.exit_code, 2) << url;
        EXPECT_NE(result.err.find("kv.url"), std::string::npos) << result.err;
        EXPECT_EQ(result.err.find("secret"), std::string::npos) << result.err;
    }
}

TEST(RedisStartup, AnUnreachableRedisIsExit1NamingItWithoutThePassword) {
    TempDir dir;
    int port = 0;
    {
        RedisProcess gone;
        port = gone.port();
    } // nothing listens there now
    const Headers env{{"IMAGECDN_KV_URL", "redis://:hunter2@127.0.0.1:" + std::to_string(port)},
                      {"IMAGECDN_DATABASE_CONNECT_TIMEOUT_MS", "500"}};
    ServerProcess server(dir.path(), env);
    EXPECT_FALSE(server.start(20s));
    EXPECT_EQ(server.stop(), 1);
    const auto err = server.stderr_text();
    EXPECT_NE(err.find("kv.url: redis redis://127.0.0.1:" + std::to_string(port)),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
}

} // namespace
} // namespace cdn::test
