#include "edge/delivery.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../db/db_test_support.h"
#include "billing/bandwidth_quota.h"
#include "cache/memory_cache.h"
#include "cache/tiered_cache.h"
#include "db/customer_repository.h"
#include "db/usage_repository.h"
#include "fake_clock.h"
#include "kv/memory_kv_store.h"
#include "kv/rate_limiter.h"
#include "transform/worker_pool.h"
#include "usage/usage_recorder.h"

namespace cdn::edge {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

/** A well-formed public key (pk_ and 24 letters or digits). */
const std::string PK = "pk_" + std::string(24, 'a');
/** Another, of nobody. */
const std::string NOBODY = "pk_" + std::string(24, 'b');

/** Enough of a PNG for the format sniffer: an original without options is served as it is. */
const std::string PNG_BYTES = std::string("\x89PNG\r\n\x1A\n", 8) + "not really pixels";

/** Originals in memory, counting reads: what the handler asks of the store is the test. */
class CountingStore final : public storage::BlobStore {
public:
    core::Result<storage::Object> get(std::string_view key) override {
        gets_.fetch_add(1);
        if (down_) {
            return core::make_error(core::Errc::OriginUnavailable, "the store is down");
        }
        std::lock_guard lock(mutex_);
        const auto it = objects_.find(std::string(key));
        if (it == objects_.end()) {
            return core::make_error(core::Errc::NotFound, "no such object");
        }
        storage::Object object;
        object.info = {std::string(key), it->second.size(), 1'600'000'000, "e"};
        object.bytes = it->second;
        return object;
    }
    core::Result<storage::ObjectInfo> head(std::string_view key) override {
        CDN_TRY(object, get(key));
        return object.info;
    }
    core::Result<storage::ObjectInfo> put(std::string_view key, std::string_view bytes) override {
        std::lock_guard lock(mutex_);
        objects_[std::string(key)] = std::string(bytes);
        return storage::ObjectInfo{std::string(key), bytes.size(), 1'600'000'000, "e"};
    }
    core::Result<void> remove(std::string_view key) override {
        std::lock_guard lock(mutex_);
        objects_.erase(std::string(key));
        return {};
    }
    core::Result<storage::ListPage> list(std::string_view, std::string_view, std::size_t) override {
        return storage::ListPage{};
    }
    core::Result<void> check() override { return {}; }

    int gets() const { return gets_.load(); }
    /** While down, get() fails as a store outage does (origin_unavailable). */
    void set_down(bool down) { down_ = down; }

private:
    std::mutex mutex_;
    std::map<std::string, std::string> objects_;
    std::atomic<int> gets_{0};
    std::atomic<bool> down_{false};
};

/** A request as the server hands it over; its views point into this object. */
struct TestRequest {
    std::string method = "GET";
    std::string path;
    std::string query;
    std::vector<std::pair<std::string, std::string>> headers;

    http::Request view() const {
        http::Request req;
        req.method = method;
        req.path = path;
        req.query = query;
        req.target = path;
        req.client_address = "127.0.0.1";
        for (const auto& [name, value] : headers) {
            req.headers.push_back({name, value});
        }
        return req;
    }
};

std::string header(const http::Response& res, std::string_view name) {
    for (const auto& [n, v] : res.headers) {
        if (n == name) {
            return v;
        }
    }
    return {};
}

std::string body(const http::Response& res) { return res.body ? *res.body : std::string(); }

class DeliveryHandlerTest : public db::testing::SqliteMigratedTest {
protected:
    void SetUp() override {
        SqliteMigratedTest::SetUp();
        auto customer = db::testing::make_customer("c1");
        customer.public_key = PK;
        ASSERT_TRUE(db::CustomerRepository(*db_).insert(customer));
        ASSERT_TRUE(db::CustomerRepository(*db_).replace_custom_domains("c1", {"img.one.com"}));
        ASSERT_TRUE(store_.put(PK + "/cat.png", PNG_BYTES));
        plans_["free"].rate_limit_rps = 1000;
        make_handler();
    }

    /** As the service stops: the pools' jobs (a background quota refresh) use the quota, usage
     *  and handler, which are destroyed before the pools. */
    void TearDown() override {
        workers_.shutdown();
        blocking_pool_.join();
        SqliteMigratedTest::TearDown();
    }

    void make_handler() {
        directory_.emplace(*db_, blocking_pool_, clock_, 60s, 5s, 4096);
        rate_limiter_.emplace(kv_, clock_);
        usage_.emplace(*db_, clock_, 1000ms);
        usage_repository_.emplace(*db_);
        quota_.emplace(*usage_repository_, *usage_, clock_);
        original_budget_.emplace(original_budget_bytes_);
        handler_.emplace(DeliveryDeps{
            .customers = *directory_,
            .store = store_,
            .cache = cache_,
            .blocking_pool = blocking_pool_,
            .transform_pool = workers_,
            .original_budget = *original_budget_,
            .limits = limits_,
            .plans = plans_,
            .grace = {},
            .rate_limiter = *rate_limiter_,
            .quota = *quota_,
            .usage = *usage_,
            .clock = clock_,
            .own_hosts = {"cdn.example.com"},
        });
    }

    /** Runs the handler on an I/O context of its own until it answers. */
    http::Response handle(const TestRequest& request) { return handle_all({request}).front(); }

    /** Starts every request at once on one I/O thread, then waits for all the answers. */
    std::vector<http::Response> handle_all(const std::vector<TestRequest>& requests) {
        std::vector<http::Request> views;
        for (const auto& request : requests) {
            views.push_back(request.view());
        }
        std::vector<std::optional<http::Response>> answers(views.size());
        std::size_t answered = 0;
        for (std::size_t i = 0; i < views.size(); ++i) {
            net::co_spawn(io_, handler_->handle(views[i]),
                          [&answers, &answered, i](std::exception_ptr error, http::Response res) {
                              EXPECT_FALSE(error);
                              answers[i] = std::move(res);
                              ++answered;
                          });
        }
        // The context may run out of work while a job is on the blocking pool: poll it.
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        while (answered < views.size() && std::chrono::steady_clock::now() < give_up) {
            io_.restart();
            io_.run_for(10ms);
        }
        std::vector<http::Response> out;
        for (auto& answer : answers) {
            EXPECT_TRUE(answer) << "no answer within 30 s";
            out.push_back(answer ? std::move(*answer) : http::Response{});
        }
        return out;
    }

    test::FakeClock clock_;
    CountingStore store_;
    cache::MemoryCache memory_{1 << 20, clock_};
    cache::TieredCache cache_{memory_, nullptr};
    // Outlives both pools: their threads may still let go of a handler bound to it after the
    // answer arrived.
    net::io_context io_;
    net::thread_pool blocking_pool_{2};
    transform::WorkerPool workers_{1, 8, 4};
    transform::Limits limits_;
    account::PlanTable plans_ = account::default_plans();
    kv::MemoryKvStore kv_{clock_};
    std::optional<CustomerDirectory> directory_;
    std::optional<kv::RateLimiter> rate_limiter_;
    std::optional<usage::UsageRecorder> usage_;
    std::optional<db::UsageRepository> usage_repository_;
    std::optional<billing::BandwidthQuota> quota_;
    std::uint64_t original_budget_bytes_ = 0; // no limit
    std::optional<OriginalBudget> original_budget_;
    std::optional<DeliveryHandler> handler_;
};

TEST_F(DeliveryHandlerTest, AnOriginalIsReadOnceThenServedFromMemory) {
    const auto miss = handle({.path = "/" + PK + "/cat.png"});
    EXPECT_EQ(miss.status, 200u);
    EXPECT_EQ(header(miss, "X-Cache"), "MISS");
    EXPECT_EQ(miss.cache_status, "MISS");
    EXPECT_NE(header(miss, "Server-Timing"), "");
    EXPECT_EQ(body(miss), PNG_BYTES);
    ASSERT_NE(miss.prebuilt_headers, nullptr);
    EXPECT_NE(miss.prebuilt_headers->find("Content-Type: image/png\r\n"), std::string::npos);

    const auto hit = handle({.path = "/" + PK + "/cat.png"});
    EXPECT_EQ(hit.status, 200u);
    EXPECT_EQ(header(hit, "X-Cache"), "HIT");
    EXPECT_EQ(header(hit, "Server-Timing"), "");
    EXPECT_EQ(header(hit, "Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(body(hit), PNG_BYTES);
    EXPECT_EQ(store_.gets(), 1);
    EXPECT_EQ(cache_.stats().memory_hits, 1u);
}

TEST_F(DeliveryHandlerTest, AnOriginalOverTheCustomersShareOfMemoryIs503BusyAndNotCached) {
    // The customer may hold half the node's bytes of originals in flight: less than this one.
    original_budget_bytes_ = PNG_BYTES.size() + PNG_BYTES.size() / 2;
    make_handler();
    const auto refused = handle({.path = "/" + PK + "/cat.png"});
    EXPECT_EQ(refused.status, 503u);
    EXPECT_EQ(header(refused, "Retry-After"), "1");
    EXPECT_NE(body(refused).find(R"("code":"busy")"), std::string::npos) << body(refused);
    EXPECT_EQ(original_budget_->held(), 0u) << "nothing is held once the request has ended";
    EXPECT_EQ(original_budget_->refused(), 1u);
    // Twice the original: the customer's half holds it.
    original_budget_bytes_ = 2 * PNG_BYTES.size();
    make_handler();
    const auto served = handle({.path = "/" + PK + "/cat.png"});
    EXPECT_EQ(served.status, 200u) << body(served);
    EXPECT_EQ(header(served, "X-Cache"), "MISS") << "the refusal was not cached";
    EXPECT_EQ(original_budget_->held(), 0u);
}

TEST_F(DeliveryHandlerTest, AMatchingEtagIs304WithoutBody) {
    const auto first = handle({.path = "/" + PK + "/cat.png"});
    ASSERT_NE(first.prebuilt_headers, nullptr);
    const auto etag_at = first.prebuilt_headers->find("ETag: ");
    ASSERT_NE(etag_at, std::string::npos);
    const auto etag = first.prebuilt_headers->substr(
        etag_at + 6, first.prebuilt_headers->find('\r', etag_at) - etag_at - 6);
    const auto again =
        handle({.path = "/" + PK + "/cat.png", .headers = {{"If-None-Match", etag}}});
    EXPECT_EQ(again.status, 304u);
    EXPECT_EQ(again.body, nullptr);
    EXPECT_EQ(header(again, "ETag"), etag);
    EXPECT_EQ(header(again, "Content-Type"), "");
    EXPECT_NE(header(again, "Cache-Control"), "");
}

TEST_F(DeliveryHandlerTest, ANotFoundIsKeptSixtySecondsOfTheInjectedClock) {
    const auto first = handle({.path = "/" + PK + "/missing.png"});
    EXPECT_EQ(first.status, 404u);
    EXPECT_EQ(header(first, "X-Cache"), "MISS");
    EXPECT_EQ(header(first, "Cache-Control"), "public, max-age=60");
    EXPECT_EQ(store_.gets(), 1);

    clock_.advance(59s);
    const auto cached = handle({.path = "/" + PK + "/missing.png"});
    EXPECT_EQ(cached.status, 404u);
    EXPECT_EQ(header(cached, "X-Cache"), "HIT");
    EXPECT_EQ(store_.gets(), 1);

    // Past the minute the store is asked again; the original may exist by now.
    ASSERT_TRUE(store_.put(PK + "/missing.png", PNG_BYTES));
    clock_.advance(1s);
    const auto later = handle({.path = "/" + PK + "/missing.png"});
    EXPECT_EQ(later.status, 200u);
    EXPECT_EQ(header(later, "X-Cache"), "MISS");
    EXPECT_EQ(store_.gets(), 2);
}

// delivery.md step 9: past the customer's cache_ttl_seconds a variant is made again, unless the
// store is down: then it is served stale; a variant the cache does not have is 502, not cached.
TEST_F(DeliveryHandlerTest, AStoreOutageServesAStaleVariantOrAnUncachedError) {
    auto customer = db::testing::make_customer("c2");
    customer.public_key = "pk_" + std::string(24, 'c');
    customer.settings_json = R"({"cache_ttl_seconds":60})";
    ASSERT_TRUE(db::CustomerRepository(*db_).insert(customer));
    ASSERT_TRUE(store_.put(customer.public_key + "/cat.png", PNG_BYTES));
    const TestRequest cat{.path = "/" + customer.public_key + "/cat.png"};
    const TestRequest uncached{.path = cat.path, .query = "v=2"};
    ASSERT_EQ(header(handle(cat), "X-Cache"), "MISS");
    store_.set_down(true);
    clock_.advance(59s);
    EXPECT_EQ(header(handle(cat), "X-Cache"), "HIT");
    EXPECT_EQ(store_.gets(), 1);

    clock_.advance(1s);
    const auto stale = handle(cat);
    EXPECT_EQ(stale.status, 200u);
    EXPECT_EQ(header(stale, "X-Cache"), "STALE");
    EXPECT_EQ(header(stale, "Warning"), R"(110 - "Response is Stale")");
    EXPECT_EQ(body(stale), PNG_BYTES);
    EXPECT_EQ(store_.gets(), 2);
    for (int i = 0; i < 2; ++i) {
        const auto failed = handle(uncached);
        EXPECT_EQ(failed.status, 502u);
        EXPECT_NE(body(failed).find("origin_unavailable"), std::string::npos) << body(failed);
        EXPECT_EQ(header(failed, "Cache-Control"), "no-store");
    }
    EXPECT_EQ(store_.gets(), 4); // the 502 was not cached

    store_.set_down(false);
    EXPECT_EQ(header(handle(uncached), "X-Cache"), "MISS");
    EXPECT_EQ(header(handle(cat), "X-Cache"), "MISS"); // made again, fresh for 60 s more
    EXPECT_EQ(header(handle(cat), "X-Cache"), "HIT");
}

TEST_F(DeliveryHandlerTest, WithTheDefaultTtlAVariantNeverGoesStale) {
    ASSERT_EQ(header(handle({.path = "/" + PK + "/cat.png"}), "X-Cache"), "MISS");
    store_.set_down(true);
    clock_.advance(std::chrono::hours(24 * 400));
    EXPECT_EQ(header(handle({.path = "/" + PK + "/cat.png"}), "X-Cache"), "HIT");
    EXPECT_EQ(store_.gets(), 1);
}

TEST_F(DeliveryHandlerTest, ConcurrentMissesOfOneVariantReadTheOriginalOnce) {
    const auto answers = handle_all(std::vector<TestRequest>(8, {.path = "/" + PK + "/cat.png"}));
    for (const auto& res : answers) {
        EXPECT_EQ(res.status, 200u);
        EXPECT_EQ(body(res), PNG_BYTES);
    }
    EXPECT_EQ(store_.gets(), 1);
}

TEST_F(DeliveryHandlerTest, ACustomDomainPathHasNoPublicKey) {
    const auto res = handle({.path = "/cat.png", .headers = {{"Host", "IMG.one.com:443"}}});
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.customer, PK);
    EXPECT_EQ(body(res), PNG_BYTES);
    // The service's own host name is never a custom domain: the path needs its key there.
    const auto own =
        handle({.path = "/" + PK + "/cat.png", .headers = {{"Host", "cdn.example.com"}}});
    EXPECT_EQ(own.status, 200u);
    EXPECT_EQ(header(own, "X-Cache"), "HIT");
}

TEST_F(DeliveryHandlerTest, UnknownKeysAndUnknownHostsAreUnknownCustomers) {
    const auto unknown_key = handle({.path = "/" + NOBODY + "/cat.png"});
    EXPECT_EQ(unknown_key.status, 404u);
    EXPECT_NE(body(unknown_key).find("unknown_customer"), std::string::npos);
    // An unknown host falls back to reading the path as /{public_key}/{path}.
    const auto unknown_host = handle({.path = "/cat.png", .headers = {{"Host", "img.nobody.com"}}});
    EXPECT_EQ(unknown_host.status, 404u);
    EXPECT_NE(body(unknown_host).find("unknown_customer"), std::string::npos);
    EXPECT_EQ(store_.gets(), 0);
}

TEST_F(DeliveryHandlerTest, ARateLimitedRequestIs429WithRetryAfter) {
    plans_["free"].rate_limit_rps = 1;
    make_handler();
    EXPECT_EQ(handle({.path = "/" + PK + "/cat.png"}).status, 200u);
    const auto refused = handle({.path = "/" + PK + "/cat.png"});
    EXPECT_EQ(refused.status, 429u);
    EXPECT_EQ(header(refused, "Retry-After"), "1");
    EXPECT_EQ(refused.customer, PK);
}

TEST_F(DeliveryHandlerTest, MethodsOtherThanGetAndHeadAre405WithAllow) {
    const auto res = handle({.method = "POST", .path = "/" + PK + "/cat.png"});
    EXPECT_EQ(res.status, 405u);
    EXPECT_EQ(header(res, "Allow"), "GET, HEAD");
    EXPECT_EQ(store_.gets(), 0);
}

TEST_F(DeliveryHandlerTest, HandlerAndCacheWriteTheirOwnMetrics) {
    handle({.path = "/" + PK + "/cat.png"});
    handle({.path = "/" + PK + "/cat.png"});
    std::string out;
    core::MetricWriter writer(out);
    cache_.write_metrics(writer);
    directory_->write_metrics(writer);
    EXPECT_NE(out.find(R"(imagecdn_cache_lookups_total{tier="memory",result="hit"} 1)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("imagecdn_customer_config_loads_total 1"), std::string::npos) << out;
    std::string edge_only;
    core::MetricWriter edge_writer(edge_only);
    handler_->write_metrics(edge_writer);
    EXPECT_EQ(edge_only.find("imagecdn_cache_lookups_total"), std::string::npos) << edge_only;
    EXPECT_NE(edge_only.find("imagecdn_delivery_refused_total"), std::string::npos);
}

} // namespace
} // namespace cdn::edge
