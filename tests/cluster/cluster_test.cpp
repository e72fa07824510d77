// Issue 19: the cluster of scripts/cluster.sh (PostgreSQL, Redis, s3rver, one api node, two edge
// nodes, nginx in front; tests/support/cluster.h) behaves as one system. One cluster serves the
// whole suite; the tests that stop or restart a piece put it back before they end, and run last.
// A test that needs other node settings replaces an edge (Cluster::replace_edge(i, env): same
// name and port, fresh caches) or lives in a suite of its own with its ClusterOptions.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "cluster.h"
#include "fixtures.h"
#include "poll_until.h"
#include "transform/engine.h"

namespace cdn::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

/** A change made on the api node is effective on every edge within 1 s (api.md: purges and
 *  customer config travel by Redis pub/sub). The config cache TTL is 300 s: only the
 *  invalidation can make a change show within this deadline. */
constexpr auto WITHIN = 1s;

struct Dimensions {
    long long width = -1;
    long long height = -1;
};

Dimensions dimensions_of(const std::string& bytes) {
    const auto info = transform::probe_source(bytes, transform::Limits{});
    return info ? Dimensions{info->width, info->height} : Dimensions{};
}

/** The height a `width`-wide resize of `original` has (aspect ratio kept). */
long long scaled_height(const std::string& original, long long width) {
    const auto source = dimensions_of(original);
    return std::lround(static_cast<double>(source.height) * width / source.width);
}

// scripts/cluster.sh and the tests fill deploy/nginx/imagecdn.conf.template each in its own
// language (awk, C++): both give the same config.
TEST(NginxTemplate, ClusterShRendersItAsTheTestsDo) {
    const std::string source = IMAGECDN_SOURCE_DIR;
    const std::string command = source + "/scripts/cluster.sh render-nginx 127.0.0.1:8080 " +
                                "'127.0.0.1:8091 127.0.0.1:8092' 127.0.0.1:8090";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string rendered;
    std::array<char, 4096> chunk{};
    for (std::size_t n; (n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0;) {
        rendered.append(chunk.data(), n);
    }
    ASSERT_EQ(::pclose(pipe), 0);
    const auto expected = render_nginx_template(
        read_file(source + "/deploy/nginx/imagecdn.conf.template"), "127.0.0.1:8080",
        {"127.0.0.1:8091", "127.0.0.1:8092"}, {"127.0.0.1:8090"});
    EXPECT_EQ(rendered, expected);
    EXPECT_NE(expected.find("server 127.0.0.1:8092 max_fails="), std::string::npos) << expected;
    EXPECT_NE(expected.find("listen 127.0.0.1:8080;"), std::string::npos);
}

class ClusterTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        try {
            // The failover test's load must be answered, not refused by the rate limit.
            ClusterOptions options;
            options.node_env = {{"IMAGECDN_PLANS_BUSINESS_RATE_LIMIT_RPS", "1000000"}};
            cluster_ = std::make_unique<Cluster>(options);
            if (!cluster_->start()) {
                start_error_ = cluster_->error();
            }
        } catch (const std::exception& e) {
            start_error_ = e.what();
        }
    }
    static void TearDownTestSuite() { cluster_.reset(); }

    void SetUp() override { ASSERT_TRUE(start_error_.empty()) << start_error_; }

    static Cluster& cluster() { return *cluster_; }

    /** Every port an image URL is tried on: each edge directly, then nginx. */
    static std::vector<int> delivery_ports() {
        std::vector<int> ports;
        for (std::size_t i = 0; i < cluster().edge_count(); ++i) {
            ports.push_back(cluster().edge(i).port());
        }
        ports.push_back(cluster().nginx_port());
        return ports;
    }

    static std::vector<int> edge_ports() {
        auto ports = delivery_ports();
        ports.pop_back();
        return ports;
    }

    /** A management-API call on the api node. */
    static RawResponse api(const Account& account, std::string_view method,
                           const std::string& target, const std::string& body = {},
                           const Env& headers = {}) {
        return api_call(cluster().api().port(), method, target, account.api_key, body, headers);
    }

    static void upload(const Account& account, const std::string& path, const std::string& bytes) {
        const auto res = api(account, "PUT", "/api/v1/images/" + path, bytes,
                             {{"Content-Type", "application/octet-stream"}});
        ASSERT_TRUE(res.status == 201 || res.status == 200) << res.body; // created, replaced
    }

    /** Polls every port in `ports` until `expected` holds for the answer to `target` there,
     *  all within `within` from now. */
    template <class Expected>
    static bool everywhere_within(const std::vector<int>& ports, const std::string& target,
                                  Expected expected, std::chrono::milliseconds within = WITHIN,
                                  const Env& headers = {}) {
        const auto deadline = Clock::now() + within;
        return std::ranges::all_of(ports, [&](int port) {
            const auto left = std::max(std::chrono::milliseconds(0),
                                       std::chrono::duration_cast<std::chrono::milliseconds>(
                                           deadline - Clock::now()));
            return poll_until([&] { return expected(get(port, target, headers)); }, left, 5ms);
        });
    }

    static bool status_is(const RawResponse& res, int status) { return res.status == status; }

    static std::unique_ptr<Cluster> cluster_;
    static std::string start_error_;
};

std::unique_ptr<Cluster> ClusterTest::cluster_;
std::string ClusterTest::start_error_;

TEST_F(ClusterTest, EveryNodeNamesItselfInXServedByAndNginxSpreadsOverBothEdges) {
    std::set<std::string> names;
    for (int i = 0; i < 8; ++i) {
        const auto res = get(cluster().nginx_port(), "/healthz");
        EXPECT_EQ(res.status, 200);
        names.insert(served_by(res));
    }
    EXPECT_EQ(names, (std::set<std::string>{"edge-1", "edge-2"}));
    EXPECT_EQ(served_by(get(cluster().api().port(), "/healthz")), "api");
    EXPECT_EQ(Cluster::metric(cluster().api(), "imagecdn_kv_up"), 1.0) << "on the shared Redis";
    for (std::size_t i = 0; i < cluster().edge_count(); ++i) {
        EXPECT_EQ(Cluster::metric(cluster().edge(i), "imagecdn_kv_up"), 1.0) << i;
    }
    const auto api_through_nginx = get(cluster().nginx_port(), "/api/v1/billing/plans");
    EXPECT_EQ(api_through_nginx.status, 200) << api_through_nginx.body;
    EXPECT_EQ(served_by(api_through_nginx), "api");
}

TEST_F(ClusterTest, AnUploadIsServedResizedByBothEdgesReplacedEverywhereAndDeletedEverywhere) {
    const auto account = cluster().create_account("upload@example.com", "pro");
    const auto target = "/" + account.public_key + "/products/shoe.jpg?w=40";
    upload(account, "products/shoe.jpg", sample_jpeg());
    for (const int port : delivery_ports()) {
        const auto res = get(port, target);
        ASSERT_EQ(res.status, 200) << port << ": " << res.body;
        const auto size = dimensions_of(res.body);
        EXPECT_EQ(size.width, 40) << served_by(res);
        EXPECT_NEAR(size.height, scaled_height(sample_jpeg(), 40), 1) << served_by(res);
        EXPECT_EQ(get(port, target).header("x-cache"), "HIT") << "cached on " << served_by(res);
    }

    // Another picture (another aspect ratio) under the same path: every cached variant goes.
    upload(account, "products/shoe.jpg", sample_png());
    const auto new_height = scaled_height(sample_png(), 40);
    ASSERT_NE(new_height, scaled_height(sample_jpeg(), 40)) << "the test needs two shapes";
    EXPECT_TRUE(everywhere_within(delivery_ports(), target, [&](const RawResponse& res) {
        return res.status == 200 && dimensions_of(res.body).height == new_height;
    })) << "the replaced original reached every edge";

    ASSERT_EQ(api(account, "DELETE", "/api/v1/images/products/shoe.jpg").status, 204);
    EXPECT_TRUE(everywhere_within(delivery_ports(), target,
                                  [](const RawResponse& res) { return status_is(res, 404); }));
    EXPECT_EQ(get(cluster().edge(0).port(), "/" + account.public_key + "/products/shoe.jpg").status,
              404)
        << "the original too";
}

TEST_F(ClusterTest, ASettingsChangeOnTheApiNodeIsEffectiveOnBothEdges) {
    const auto account = cluster().create_account("settings@example.com", "pro");
    upload(account, "photo.jpg", sample_jpeg());
    const auto target = "/" + account.public_key + "/photo.jpg?w=30";
    const Env from_elsewhere{{"Referer", "https://elsewhere.test/page"}};
    for (const int port : edge_ports()) {
        ASSERT_EQ(get(port, target, from_elsewhere).status, 200) << "the config is cached";
    }
    for (const char* domains : {R"(["example.com"])", "[]", R"(["example.com"])"}) {
        const auto res = api(account, "PATCH", "/api/v1/customer/settings",
                             std::string(R"({"allowed_domains":)") + domains + "}");
        ASSERT_EQ(res.status, 200) << res.body;
        const int expected = std::string_view(domains) == "[]" ? 200 : 403;
        EXPECT_TRUE(everywhere_within(
            edge_ports(), target, [&](const RawResponse& r) { return status_is(r, expected); },
            WITHIN, from_elsewhere))
            << "allowed_domains " << domains;
    }
}

TEST_F(ClusterTest, APresetChangeOnTheApiNodeIsEffectiveOnBothEdges) {
    const auto account = cluster().create_account("presets@example.com", "pro");
    upload(account, "photo.jpg", sample_jpeg());
    const auto target = "/" + account.public_key + "/photo.jpg?preset=card";
    for (const int width : {48, 64}) {
        const auto res = api(account, "PUT", "/api/v1/presets/card",
                             R"({"options":"w=)" + std::to_string(width) + "\"}");
        ASSERT_TRUE(res.status == 200 || res.status == 201) << res.body;
        EXPECT_TRUE(everywhere_within(edge_ports(), target, [&](const RawResponse& r) {
            return r.status == 200 && dimensions_of(r.body).width == width;
        })) << "preset card = w=" << width;
    }
}

// API keys are read from the shared database on every request, and no edge serves the API: a
// key deleted on the api node is refused wherever it is tried, through nginx too.
TEST_F(ClusterTest, AnApiKeyDeletedOnTheApiNodeIsRefusedEverywhere) {
    const auto account = cluster().create_account("keys@example.com", "pro");
    const auto created = api(account, "POST", "/api/v1/keys", R"({"name":"ci"})");
    ASSERT_EQ(created.status, 201) << created.body;
    const auto secret = json_string(created.body, "secret");
    const auto customer = [&](int port) {
        return get(port, "/api/v1/customer", {{"X-API-Key", secret}}).status;
    };
    ASSERT_EQ(customer(cluster().nginx_port()), 200);
    ASSERT_EQ(api(account, "DELETE", "/api/v1/keys/" + json_string(created.body, "id")).status,
              204);
    EXPECT_EQ(customer(cluster().nginx_port()), 401);
    EXPECT_EQ(customer(cluster().api().port()), 401);
    for (const int port : edge_ports()) {
        // Not through http_request: an edge's 404 is no answer of the API's OpenAPI document.
        RawConnection edge(port);
        ASSERT_TRUE(edge.send("GET /api/v1/customer HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " +
                              secret + "\r\nConnection: close\r\n\r\n"));
        const auto res = edge.read_response();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 404) << "an edge node serves no API at all: " << res->body;
    }
}

TEST_F(ClusterTest, APlanChangeByAStripeWebhookOnTheApiNodeIsEffectiveOnBothEdges) {
    const auto account = cluster().create_account("upgrade@example.com", "free");
    upload(account, "photo.jpg", sample_jpeg());
    const auto avif = "/" + account.public_key + "/photo.jpg?w=32&format=avif";
    for (const int port : edge_ports()) {
        ASSERT_EQ(get(port, avif).status, 403) << "free has no AVIF";
    }
    auto& stripe = cluster().stripe();
    const auto made = stripe.create_subscription(
        stripe.create_customer("upgrade@example.com"), "price_pro", "active",
        json::object{{"customer_id", account.customer_id}, {"plan", "pro"}}, true);
    ASSERT_EQ(made.at("delivery").at("status"), 200) << json::serialize(made);
    EXPECT_TRUE(everywhere_within(edge_ports(), avif,
                                  [](const RawResponse& res) { return status_is(res, 200); }))
        << "pro allows AVIF on every edge";
}

/** When each answer came, what it was and which node gave it. */
struct Answer {
    Clock::time_point at;
    int status = 0;
    std::string node;
};

/** `threads` clients asking nginx for `target` in a loop until `until`. */
std::vector<Answer> load_through_nginx(int port, const std::string& target, int threads,
                                       Clock::time_point until) {
    std::vector<std::vector<Answer>> per_client(threads);
    std::vector<std::thread> clients;
    for (int n = 0; n < threads; ++n) {
        clients.emplace_back([&, n] {
            while (Clock::now() < until) {
                const auto res = get(port, target);
                per_client[n].push_back({Clock::now(), res.status, served_by(res)});
            }
        });
    }
    for (auto& client : clients) {
        client.join();
    }
    std::vector<Answer> all;
    for (auto& answers : per_client) {
        all.insert(all.end(), answers.begin(), answers.end());
    }
    return all;
}

TEST_F(ClusterTest, AFreeCustomersBurstThroughNginxIsHeldToThePlansGlobalRate) {
    // The free plan allows 50 requests a second for the customer, whichever edge serves them.
    const auto account = cluster().create_account("burst@example.com", "free");
    upload(account, "photo.jpg", sample_jpeg());
    const auto target = "/" + account.public_key + "/photo.jpg?w=70";
    for (const int port : edge_ports()) {
        ASSERT_EQ(get(port, target).status, 200); // stored on each: the burst is hits
    }
    // Steady load: the first second admits up to 50 on each edge (neither knows of the other
    // yet), which then takes a second or two to work off and settle.
    constexpr auto WARM_UP = 3s;
    constexpr auto MEASURED = 5s;
    const auto start = Clock::now();
    const auto answers =
        load_through_nginx(cluster().nginx_port(), target, 2, start + WARM_UP + MEASURED);
    std::map<std::string, int> admitted;
    for (const auto& answer : answers) {
        if (answer.at >= start + WARM_UP && answer.status == 200) {
            ++admitted[answer.node];
        }
    }
    const int total = admitted["edge-1"] + admitted["edge-2"];
    RecordProperty("admitted_per_second", std::to_string(total / 5.0));
    EXPECT_NEAR(total, 50 * 5, 0.05 * 50 * 5)
        << "edge-1 " << admitted["edge-1"] << ", edge-2 " << admitted["edge-2"] << " of "
        << answers.size();
    EXPECT_GT(admitted["edge-1"], 0);
    EXPECT_GT(admitted["edge-2"], 0);
}

TEST_F(ClusterTest, TwentyConcurrentMissesThroughNginxRunOneTransformInTheCluster) {
    const auto account = cluster().create_account("stampede@example.com", "business");
    upload(account, "photo.jpg", sample_jpeg());
    const auto target = "/" + account.public_key + "/photo.jpg?w=130&format=webp";
    const auto cluster_transforms = [] {
        double total = 0;
        for (std::size_t i = 0; i < cluster().edge_count(); ++i) {
            total += Cluster::metric(cluster().edge(i), "imagecdn_transforms_total");
        }
        return total;
    };
    const double before = cluster_transforms();
    std::vector<RawResponse> answers(20);
    std::vector<std::thread> clients;
    for (auto& answer : answers) {
        clients.emplace_back([&] { answer = get(cluster().nginx_port(), target); });
    }
    for (auto& client : clients) {
        client.join();
    }
    std::set<std::string> nodes;
    for (const auto& answer : answers) {
        EXPECT_EQ(answer.status, 200) << answer.body;
        EXPECT_EQ(dimensions_of(answer.body).width, 130);
        nodes.insert(served_by(answer));
    }
    EXPECT_EQ(nodes.size(), 2U) << "nginx spread them over both edges";
    EXPECT_EQ(cluster_transforms() - before, 1.0);
}

TEST_F(ClusterTest, AnEdgeKilledUnderLoadCostsOnlyItsRequestsInFlightAndRejoinsOnRestart) {
    const auto account = cluster().create_account("failover@example.com", "business");
    upload(account, "photo.jpg", sample_jpeg());
    const auto target = "/" + account.public_key + "/photo.jpg?w=90";
    for (const int port : edge_ports()) {
        ASSERT_EQ(get(port, target).status, 200);
    }
    constexpr int CLIENTS = 4;
    const auto start = Clock::now();
    Clock::time_point killed_at;
    std::thread killer([&] {
        std::this_thread::sleep_for(1s); // the load runs on both edges first
        killed_at = Clock::now();
        cluster().kill_edge(0);
    });
    const auto answers = load_through_nginx(cluster().nginx_port(), target, CLIENTS, start + 4s);
    killer.join();

    int failed = 0;
    std::map<std::string, int> served_after_kill;
    for (const auto& answer : answers) {
        if (answer.status != 200) {
            ++failed;
        } else if (answer.at > killed_at) {
            ++served_after_kill[answer.node];
        }
    }
    RecordProperty("answers", std::to_string(answers.size()));
    RecordProperty("failed", std::to_string(failed));
    // At most one request per client was in flight on the killed node; nginx retries those it
    // can (no byte of the answer sent yet) on the other edge.
    EXPECT_LE(failed, CLIENTS) << "of " << answers.size();
    EXPECT_GT(served_after_kill["edge-2"], 100) << "the other edge serves the rest";
    EXPECT_LE(served_after_kill["edge-1"], CLIENTS) << "only answers already on their way";

    ASSERT_TRUE(cluster().start_edge(0)) << cluster().error();
    const auto res = get(cluster().edge(0).port(), target);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(dimensions_of(res.body).width, 90);
    // nginx tries a failed node again after fail_timeout (5 s in deploy/nginx/).
    EXPECT_TRUE(poll_until(
        [&] { return served_by(get(cluster().nginx_port(), target)) == "edge-1"; }, 20s, 50ms))
        << "nginx sends edge-1 requests again";
}

TEST_F(ClusterTest, ANewEdgeInPlaceOfAnotherStartsWarmAndServesAtOnceThroughNginx) {
    const auto account = cluster().create_account("replaced@example.com", "pro");
    upload(account, "photo.jpg", sample_jpeg());
    const auto target = "/" + account.public_key + "/photo.jpg?w=24";
    ASSERT_EQ(get(cluster().edge(1).port(), target).status, 200);
    const auto written = [] {
        return Cluster::metric(cluster().edge(1), "imagecdn_shared_tier_writes_total") >= 1;
    };
    ASSERT_TRUE(poll_until(written, 10s, 10ms)) << "the variant reached the shared tier";
    // A new machine under the old name and address: empty caches, nothing but its config.
    ASSERT_TRUE(cluster().replace_edge(1)) << cluster().error();
    const auto res = get(cluster().edge(1).port(), target);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(dimensions_of(res.body).width, 24);
    EXPECT_EQ(res.header("x-cache"), "HIT-SHARED") << "warm from the bucket";
    EXPECT_EQ(Cluster::metric(cluster().edge(1), "imagecdn_transforms_total"), 0.0);
    EXPECT_EQ(Cluster::metric(cluster().edge(1), "imagecdn_kv_up"), 1.0);
    EXPECT_TRUE(poll_until(
        [&] { return served_by(get(cluster().nginx_port(), target)) == "edge-2"; }, 20s, 50ms));
}

/** The paths of every listed image of `account` with their sizes. */
std::map<std::string, std::uint64_t> listed_images(int api_port, const Account& account) {
    std::map<std::string, std::uint64_t> listed;
    std::string cursor;
    do {
        const auto res = api_call(api_port, "GET", "/api/v1/images?limit=1000&cursor=" + cursor,
                                  account.api_key);
        EXPECT_EQ(res.status, 200) << res.body;
        if (res.status != 200) {
            break;
        }
        const auto page = json::parse(res.body).as_object();
        for (const auto& item : page.at("items").as_array()) {
            listed[std::string(item.at("path").as_string())] =
                static_cast<std::uint64_t>(item.at("size").to_number<double>());
        }
        const auto& next = page.at("next_cursor");
        cursor = next.is_string() ? std::string(next.as_string()) : "";
    } while (!cursor.empty());
    return listed;
}

/** Sets `stop` and joins `threads`, at join() or at the latest when it goes. */
struct ThreadsJoinedOnExit {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    void join() {
        stop = true;
        for (auto& thread : threads) {
            if (thread.joinable()) {
                thread.join();
            }
        }
    }
    ~ThreadsJoinedOnExit() { join(); }
};

TEST_F(ClusterTest, TheApiNodeRestartedWhileUploadsRunLosesNoOriginalAndShowsNoneHalfWay) {
    const auto account = cluster().create_account("restart@example.com", "pro");
    // Two uploaders, each writing its own paths in turn, while the api node restarts.
    std::atomic<bool> stop{false};
    std::atomic<int> not_accepted{0};
    std::atomic<std::size_t> accepted_count{0}; // read while the uploaders write `accepted`
    std::vector<std::vector<std::string>> accepted(2);
    std::vector<std::thread> uploaders;
    for (int n = 0; n < 2; ++n) {
        uploaders.emplace_back([&, n] {
            for (int i = 0; !stop.load(); ++i) {
                const auto path = "up/" + std::to_string(n) + "-" + std::to_string(i) + ".jpg";
                const auto res = http_request(cluster().api().port(), "PUT", "/api/v1/images/" + path,
                                              {{"X-API-Key", account.api_key},
                                               {"Content-Type", "application/octet-stream"}},
                                              sample_jpeg());
                if (res && res->status == 201) {
                    accepted[n].push_back(path);
                    ++accepted_count;
                } else {
                    ++not_accepted; // refused while the node was down, or 503 while draining
                    std::this_thread::sleep_for(1ms); // pacing: no need to spin on a closed port
                }
            }
        });
    }
    // Joined on every way out: a failed ASSERT below fails this test instead of aborting the
    // binary (a joinable std::thread destroyed calls std::terminate) with every later result.
    ThreadsJoinedOnExit joined{stop, uploaders};
    ASSERT_TRUE(poll_until([&] { return accepted_count >= 4; }, 20s));
    const bool restarted = cluster().restart_api();
    ASSERT_TRUE(poll_until([&] { return accepted_count >= 12; }, 30s));
    joined.join();
    ASSERT_TRUE(restarted) << cluster().error();
    RecordProperty("accepted", std::to_string(accepted_count.load()));
    RecordProperty("not_accepted", std::to_string(not_accepted.load()));

    const auto listed = listed_images(cluster().api().port(), account);
    for (const auto& paths : accepted) {
        for (const auto& path : paths) {
            EXPECT_EQ(listed.count(path), 1u) << path << " was accepted (201) but is not listed";
        }
    }
    // Whatever is listed is whole in the bucket, and whatever is in the bucket is listed: an
    // upload cut by the restart left neither a listed image without its bytes nor a stray one.
    const auto bucket = cluster().bucket();
    const auto stored = bucket->list(account.public_key + "/", "", 1000);
    ASSERT_TRUE(stored) << stored.error().message;
    std::map<std::string, std::uint64_t> in_bucket;
    for (const auto& object : stored->items) {
        in_bucket[object.key.substr(account.public_key.size() + 1)] = object.size;
    }
    EXPECT_EQ(in_bucket, listed);
    for (const auto& [path, size] : listed) {
        EXPECT_EQ(size, sample_jpeg().size()) << path;
    }
}

TEST_F(ClusterTest, AfterAPostgresRestartTheClusterRecoversWithoutRestartingANode) {
    const auto account = cluster().create_account("outage@example.com", "pro");
    upload(account, "photo.jpg", sample_jpeg());
    cluster().postgres().shut_down();
    cluster().postgres().start_again();
    // The nodes' pooled connections died with the server: each node notices and reconnects.
    EXPECT_TRUE(poll_until(
        [&] {
            const auto res = api_call(cluster().api().port(), "PUT", "/api/v1/images/after.jpg",
                                      account.api_key, sample_jpeg(),
                                      {{"Content-Type", "application/octet-stream"}});
            return res.status == 201;
        },
        30s, 200ms))
        << "the api node writes again";
    EXPECT_TRUE(everywhere_within(
        delivery_ports(), "/" + account.public_key + "/after.jpg?w=20",
        [](const RawResponse& res) { return status_is(res, 200); }, 30s))
        << "every edge reads the database again";
    const auto newcomer = cluster().create_account("after-outage@example.com", "pro");
    upload(newcomer, "photo.jpg", sample_jpeg());
    EXPECT_TRUE(everywhere_within(
        delivery_ports(), "/" + newcomer.public_key + "/photo.jpg?w=20",
        [](const RawResponse& res) { return status_is(res, 200); }, 30s));
    EXPECT_TRUE(cluster().api().running());
    for (std::size_t i = 0; i < cluster().edge_count(); ++i) {
        EXPECT_TRUE(cluster().edge(i).running()) << Cluster::edge_name(i);
    }
}

} // namespace
} // namespace cdn::test
