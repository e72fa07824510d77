// Issue 19, items 3 to 5: an api node and two `serve --role edge` nodes on one Redis, one
// database and one S3 bucket (s3rver behind the signing proxy). Variants one edge makes are kept
// in the bucket's shared tier and answered HIT-SHARED by the other (and by a node started
// later); concurrent misses on both edges run one transform in the cluster; a replaced or purged
// original is served by neither edge nor the tier; an edge whose lease holder is gone transforms
// itself; every node announces itself and the internal API flags a node configured apart.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "redis_process.h"
#include "s3rver_process.h"
#include "server_process.h"
#include "storage/s3_blob_store.h"
#include "temp_dir.h"

namespace cdn::test {
namespace {

using namespace std::chrono_literals;
using Headers = std::map<std::string, std::string>;

constexpr auto JWT_SECRET = "cluster-jwt-secret-0123456789abcdef0123";

class ClusterTierTest : public ::testing::Test {
protected:
    void SetUp() override {
        account_ = create_account(api_dir_.path(), "cluster@example.com", "pro");
        api_ = std::make_unique<ServerProcess>(api_dir_.path(), env(),
                                               std::vector<std::string>{"--role", "api"});
        ASSERT_TRUE(api_->start()) << api_->stderr_text();
        upload("photo.jpg", sample_jpeg());
        a_ = start_edge(a_dir_);
        b_ = start_edge(b_dir_);
        ASSERT_TRUE(a_ && b_);
    }

    /** What every node shares: Redis, the database (the api node's SQLite file), the bucket. */
    Headers env(Headers extra = {}) const {
        Headers env{{"IMAGECDN_KV_URL", redis_.url()},
                    {"IMAGECDN_AUTH_JWT_SECRET", JWT_SECRET},
                    {"IMAGECDN_DATABASE_URL", "sqlite://" + api_dir_.path() + "/imagecdn.db"},
                    {"IMAGECDN_STORAGE_KIND", "s3"},
                    {"IMAGECDN_STORAGE_ENDPOINT", s3_.endpoint()},
                    {"IMAGECDN_STORAGE_BUCKET", s3_.bucket()},
                    {"IMAGECDN_STORAGE_REGION", "eu-west-3"},
                    {"IMAGECDN_STORAGE_ACCESS_KEY", S3rverProcess::kAccessKey},
                    {"IMAGECDN_STORAGE_SECRET_KEY", S3rverProcess::kSecretKey}};
        for (auto& [name, value] : extra) {
            env[name] = value;
        }
        return env;
    }

    std::unique_ptr<ServerProcess> start_edge(const TempDir& dir, Headers extra = {}) {
        auto edge = std::make_unique<ServerProcess>(dir.path(), env(std::move(extra)),
                                                    std::vector<std::string>{"--role", "edge"});
        if (!edge->start()) {
            ADD_FAILURE() << edge->stderr_text();
            return nullptr;
        }
        return edge;
    }

    void upload(const std::string& path, const std::string& bytes) {
        const auto res = api_call(api_->port(), "PUT", "/api/v1/images/" + path, account_.api_key,
                                  bytes, {{"Content-Type", "application/octet-stream"}});
        ASSERT_TRUE(res.status == 201 || res.status == 200) // created, or replaced
            << res.status << " " << res.body << api_->stderr_text();
    }

    RawResponse get(const ServerProcess& node, const std::string& target) {
        auto res = http_request(node.port(), "GET", target, {});
        return res ? *res : RawResponse{};
    }

    std::string url(const std::string& path_and_query) const {
        return "/" + account_.public_key + "/" + path_and_query;
    }

    static double metric(const ServerProcess& node, const std::string& name) {
        return scrape_metric(node.port(), name).value_or(0.0);
    }

    double transforms(const ServerProcess& node) {
        return metric(node, "imagecdn_transforms_total");
    }

    std::unique_ptr<storage::S3BlobStore> bucket() const {
        auto options = s3_.client_options();
        options.region = "eu-west-3"; // as the server signs
        return *storage::S3BlobStore::create(options);
    }

    /** The keys of the shared tier's objects for one original. */
    std::vector<std::string> shared_objects(const std::string& path) const {
        const auto page =
            bucket()->list("_variants/" + account_.public_key + "/" + path + "/", "", 100);
        EXPECT_TRUE(page) << page.error().detail;
        std::vector<std::string> keys;
        for (const auto& item : page ? page->items : std::vector<storage::ObjectInfo>{}) {
            keys.push_back(item.key);
        }
        return keys;
    }

    RedisProcess redis_;
    S3rverProcess s3_;
    TempDir api_dir_;
    TempDir a_dir_;
    TempDir b_dir_;
    Account account_;
    std::unique_ptr<ServerProcess> api_;
    std::unique_ptr<ServerProcess> a_;
    std::unique_ptr<ServerProcess> b_;
};

TEST_F(ClusterTierTest, AVariantMadeOnOneEdgeIsAHitSharedOnTheOther) {
    ASSERT_EQ(get(*a_, url("photo.jpg")).status, 200) << "an original is not copied to the tier";
    const auto made = get(*a_, url("photo.jpg?w=41"));
    ASSERT_EQ(made.status, 200) << made.body;
    EXPECT_EQ(made.header("x-cache"), "MISS");
    // B finds it in the bucket, or waits for A's lease to end with the write: HIT-SHARED either
    // way, without transforming.
    const auto shared = get(*b_, url("photo.jpg?w=41"));
    ASSERT_EQ(shared.status, 200) << shared.body;
    EXPECT_EQ(shared.header("x-cache"), "HIT-SHARED");
    EXPECT_EQ(shared.body, made.body);
    EXPECT_EQ(shared.header("etag"), made.header("etag"));
    EXPECT_EQ(shared.header("content-type"), made.header("content-type"));
    EXPECT_EQ(get(*b_, url("photo.jpg?w=41")).header("x-cache"), "HIT") << "B's own tiers now";
    EXPECT_EQ(transforms(*a_), 1);
    EXPECT_EQ(transforms(*b_), 0);
    EXPECT_EQ(shared_objects("photo.jpg").size(), 1u);
}

TEST_F(ClusterTierTest, TwentyConcurrentMissesOverBothEdgesRunOneTransformInTheCluster) {
    constexpr int REQUESTS = 20;
    std::vector<RawResponse> answers(REQUESTS);
    std::atomic<int> ready{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < REQUESTS; ++i) {
        clients.emplace_back([&, i] {
            ++ready;
            while (ready.load() < REQUESTS) {
                std::this_thread::yield(); // every client starts together
            }
            answers[i] = get(i % 2 == 0 ? *a_ : *b_, url("photo.jpg?w=42&blur=2"));
        });
    }
    for (auto& client : clients) {
        client.join();
    }
    for (const auto& answer : answers) {
        EXPECT_EQ(answer.status, 200) << answer.body;
        EXPECT_EQ(answer.body, answers.front().body);
    }
    EXPECT_EQ(transforms(*a_) + transforms(*b_), 1) << "one transform in the whole cluster";
    const auto shared = std::ranges::count_if(
        answers, [](const RawResponse& r) { return r.header("x-cache") == "HIT-SHARED"; });
    // The edge without the lease answered its first flight from the holder's write (later
    // requests of either edge may be memory hits of their node's flight).
    EXPECT_GE(shared, 1) << "the edge without the lease waited for it";
}

TEST_F(ClusterTierTest, ANodeStartedLaterAnswersFromTheSharedTierWithoutTransforming) {
    ASSERT_EQ(get(*a_, url("photo.jpg?w=43")).status, 200);
    ASSERT_TRUE(poll_until([&] { return shared_objects("photo.jpg").size() == 1; }))
        << "A's write after the answer";
    TempDir c_dir;
    const auto c = start_edge(c_dir);
    ASSERT_TRUE(c);
    const auto res = get(*c, url("photo.jpg?w=43"));
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.header("x-cache"), "HIT-SHARED");
    EXPECT_EQ(transforms(*c), 0);
}

TEST_F(ClusterTierTest, AReplacedOriginalIsServedNewByBothEdgesAndTheTier) {
    const double purges_a = metric(*a_, "imagecdn_cache_purges_total");
    const double purges_b = metric(*b_, "imagecdn_cache_purges_total");
    upload("swap.img", sample_jpeg());
    // Every upload purges its path (a 404 may be cached). A purge that lands while A transforms
    // keeps A from sharing what it made (it may be of the old original), so B would miss.
    ASSERT_TRUE(poll_until([&] {
        return metric(*a_, "imagecdn_cache_purges_total") > purges_a &&
               metric(*b_, "imagecdn_cache_purges_total") > purges_b;
    })) << "the upload's purge reached both edges";
    const auto before = get(*a_, url("swap.img?w=44&format=png"));
    ASSERT_EQ(before.status, 200);
    ASSERT_EQ(get(*b_, url("swap.img?w=44&format=png")).header("x-cache"), "HIT-SHARED");
    const auto old_objects = shared_objects("swap.img");
    ASSERT_EQ(old_objects.size(), 1u);

    upload("swap.img", sample_png()); // replaced: purged on both edges and swept from the tier
    for (const auto* edge : {a_.get(), b_.get()}) {
        EXPECT_TRUE(poll_until([&] {
            const auto now = get(*edge, url("swap.img?w=44&format=png"));
            return now.status == 200 && now.body != before.body;
        })) << "the purge reached edge " << edge->port();
    }
    const auto after_a = get(*a_, url("swap.img?w=44&format=png"));
    EXPECT_EQ(get(*b_, url("swap.img?w=44&format=png")).body, after_a.body);
    EXPECT_TRUE(poll_until([&] {
        return std::ranges::count(shared_objects("swap.img"), old_objects.front()) == 0;
    })) << "the old version's object was swept";
    // A node with empty tiers gets the new version from the tier (or makes it): never the old.
    TempDir c_dir;
    const auto c = start_edge(c_dir);
    ASSERT_TRUE(c);
    EXPECT_EQ(get(*c, url("swap.img?w=44&format=png")).body, after_a.body);
}

TEST_F(ClusterTierTest, APurgeRemovesTheSharedObjectsSoEveryEdgeTransformsAgain) {
    ASSERT_EQ(get(*a_, url("photo.jpg?w=45")).status, 200);
    ASSERT_TRUE(poll_until([&] { return shared_objects("photo.jpg").size() == 1; }));
    // A's write has ended too: a purge that reaches A between its put and its last look at the
    // purge generation makes A delete its object itself, and the sweep would find nothing.
    ASSERT_TRUE(poll_until([&] { return metric(*a_, "imagecdn_shared_tier_writes_queued") == 0; }));
    const auto purged = api_call(api_->port(), "POST", "/api/v1/purge", account_.api_key,
                                 R"({"prefix":"photo"})");
    ASSERT_EQ(purged.status, 202) << purged.body;
    EXPECT_TRUE(poll_until([&] { return shared_objects("photo.jpg").empty(); }))
        << "swept by the api node";
    const auto again = get(*b_, url("photo.jpg?w=45"));
    ASSERT_EQ(again.status, 200);
    EXPECT_EQ(again.header("x-cache"), "MISS");
    // Counted once the whole sweep returned, a moment after the object is gone.
    EXPECT_TRUE(poll_until([&] { return metric(*api_, "imagecdn_shared_tier_swept_total") == 1; }))
        << metric(*api_, "imagecdn_shared_tier_swept_total");
}

/** The lease a holder takes for the variant that `path?query` names, as the edge names it:
 *  `lease:` + the object's key, which the test learns by making the variant once. */
class LeaseTest : public ClusterTierTest {
protected:
    /** Makes the variant on A, then empties the tier: the object key, now free again. */
    std::string object_key_of(const std::string& target) {
        EXPECT_EQ(get(*a_, url(target)).status, 200);
        EXPECT_TRUE(poll_until([&] { return shared_objects("photo.jpg").size() == 1; }));
        const auto key = shared_objects("photo.jpg").front();
        EXPECT_TRUE(bucket()->remove(key));
        return key;
    }
};

// A holder SIGKILLed mid-transform leaves a lease nobody renews: this is that lease. B waits
// for it to expire (3 s), takes it over and transforms (the bounded wait is far longer).
TEST_F(LeaseTest, AWaiterTakesOverTheLeaseOfAHolderThatDied) {
    const auto key = object_key_of("photo.jpg?w=46");
    ASSERT_EQ(redis_.command({"SET", "imagecdn:lease:" + key, "dead-node", "NX", "PX", "3000"}),
              "OK");
    const auto res = get(*b_, url("photo.jpg?w=46"));
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.header("x-cache"), "MISS");
    EXPECT_EQ(transforms(*b_), 1);
    EXPECT_EQ(metric(*b_, "imagecdn_cluster_flight_waits_total"), 1);
    EXPECT_EQ(metric(*b_, "imagecdn_cluster_flight_waited_out_total"), 0);
}

// The real thing: edge A is SIGKILLed mid-transform, holding the lease. B waits for the lease to
// expire (nobody renews it), takes it over and transforms itself.
TEST_F(ClusterTierTest, AnEdgeKilledMidTransformLeavesTheVariantToTheOther) {
    // Seconds of work on a worker: the kill lands long before it ends.
    const auto slow = url("photo.jpg?w=1500&h=1500&fit=fill&blur=40&format=png");
    std::thread client([&] { (void)get(*a_, slow); });
    const bool leased = poll_until(
        [&] { return redis_.command({"KEYS", "imagecdn:lease:*"}) != "(array of 0)"; },
        10s, 1ms);
    ::kill(a_->pid(), SIGKILL);
    client.join();
    ASSERT_TRUE(leased) << "A took the variant's lease";
    ASSERT_TRUE(shared_objects("photo.jpg").empty()) << "A died before its shared write";
    const auto started = std::chrono::steady_clock::now();
    const auto res = get(*b_, slow);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.header("x-cache"), "MISS");
    EXPECT_EQ(transforms(*b_), 1);
    EXPECT_EQ(metric(*b_, "imagecdn_cluster_flight_waits_total"), 1) << "B waited for A first";
    RecordProperty("killed_holder_to_answer_ms",
                   std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - started)
                                      .count()));
}

// A holder that keeps its lease but never finishes (hung): B gives up after shared_wait_ms.
TEST_F(LeaseTest, AWaiterTransformsItselfAfterTheBoundedWait) {
    TempDir c_dir;
    const auto c = start_edge(c_dir, {{"IMAGECDN_CACHE_SHARED_WAIT_MS", "1500"}});
    ASSERT_TRUE(c);
    const auto key = object_key_of("photo.jpg?w=47");
    ASSERT_EQ(redis_.command({"SET", "imagecdn:lease:" + key, "hung-node", "PX", "600000"}), "OK");
    const auto res = get(*c, url("photo.jpg?w=47"));
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.header("x-cache"), "MISS");
    EXPECT_EQ(transforms(*c), 1);
    EXPECT_EQ(metric(*c, "imagecdn_cluster_flight_waited_out_total"), 1);
}

TEST_F(ClusterTierTest, EveryNodeIsListedAndANodeConfiguredApartIsFlagged) {
    const auto nodes = [&] {
        return http_request(api_->port(), "GET", "/internal/v1/nodes",
                            {{"Authorization",
                              std::string("Bearer ") + ServerProcess::INTERNAL_SECRET}})
            .value_or(RawResponse{});
    };
    auto listed = nodes();
    ASSERT_EQ(listed.status, 200) << listed.body;
    const auto count = [](const std::string& body, const std::string& text) {
        std::size_t n = 0;
        for (auto at = body.find(text); at != std::string::npos; at = body.find(text, at + 1)) {
            ++n;
        }
        return n;
    };
    EXPECT_EQ(count(listed.body, R"("role":"edge")"), 2u) << listed.body;
    EXPECT_EQ(count(listed.body, R"("role":"api")"), 1u) << listed.body;
    EXPECT_EQ(count(listed.body, R"("config_matches":true)"), 3u) << listed.body;
    EXPECT_NE(listed.body.find(R"("mismatched":0)"), std::string::npos) << listed.body;

    TempDir c_dir; // another plan table: the classic node left behind by a config change
    const auto c = start_edge(c_dir, {{"IMAGECDN_PLANS_PRO_RATE_LIMIT_RPS", "7"}});
    ASSERT_TRUE(c);
    listed = nodes();
    EXPECT_EQ(count(listed.body, R"("config_matches":false)"), 1u) << listed.body;
    EXPECT_NE(listed.body.find(R"("mismatched":1)"), std::string::npos) << listed.body;
    EXPECT_NE(listed.body.find(":" + std::to_string(c->port()) + "\""), std::string::npos)
        << "the odd node is named by its address";
    EXPECT_EQ(c->stop(), 0);
    listed = nodes();
    EXPECT_NE(listed.body.find(R"("mismatched":0)"), std::string::npos)
        << "a stopped node leaves the list at once: " << listed.body;
    EXPECT_EQ(count(listed.body, R"("config_matches":true)"), 3u) << listed.body;
}

} // namespace
} // namespace cdn::test
