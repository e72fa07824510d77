// What only the Redis backend does: prefixed names, a TTL on every key, the script cache,
// bounded calls on a hung server, reconnection and re-subscription after an outage.

#include "kv/redis_kv_store.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "kv_test_support.h"

namespace cdn::kv::testing {
namespace {

using namespace std::chrono_literals;
using test::poll_until;
using test::RedisProcess;

/** The availability changes a store reported, in order. */
class AvailabilityLog {
public:
    void watch(KvStore& store) {
        store.on_availability_change([this](bool up) {
            const std::lock_guard lock(mutex_);
            changes_.push_back(up);
        });
    }
    std::vector<bool> changes() const {
        const std::lock_guard lock(mutex_);
        return changes_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<bool> changes_;
};

std::int64_t number(const std::string& text) { return std::stoll(text); }

TEST(RedisKvStore, EveryKeyAndChannelCarriesThePrefix) {
    auto& server = RedisProcess::shared();
    const auto prefix = "deploy-a:" + unique_prefix(); // unique: the server is shared
    auto store = open_redis(server, prefix);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->increment("counter", 7, 10s));
    EXPECT_EQ(server.command({"GET", prefix + "counter"}), "7");
    EXPECT_EQ(server.command({"EXISTS", "counter"}), "0");

    Inbox inbox;
    auto subscription = store->subscribe("news", inbox.handler());
    EXPECT_EQ(server.command({"PUBSUB", "NUMSUB", prefix + "news"}), "(array of 2)");
    ASSERT_EQ(number(server.command({"PUBLISH", prefix + "news", "from outside"})), 1)
        << "the store is subscribed under the prefixed name";
    ASSERT_TRUE(inbox.wait_for(1));
    EXPECT_EQ(inbox.messages(), std::vector<std::string>{"from outside"});
    EXPECT_EQ(number(server.command({"PUBLISH", "news", "unprefixed"})), 0);
}

TEST(RedisKvStore, EveryKeyWrittenHasItsTtlWhichIncrementsDoNotExtend) {
    auto& server = RedisProcess::shared();
    const auto prefix = unique_prefix();
    auto store = open_redis(server, prefix);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->increment("one", 1, 60s));
    ASSERT_TRUE(store->increment_all({{"two", 1, 30s}, {"three", 1, 90s}}));
    const auto first = number(server.command({"PTTL", prefix + "one"}));
    EXPECT_GT(first, 50'000);
    EXPECT_LE(first, 60'000);
    EXPECT_GT(number(server.command({"PTTL", prefix + "two"})), 20'000);
    EXPECT_GT(number(server.command({"PTTL", prefix + "three"})), 80'000);

    ASSERT_TRUE(store->increment("one", 1, 600s));
    EXPECT_LE(number(server.command({"PTTL", prefix + "one"})), first);
    // A key that somehow lost its TTL gets one back on its next increment.
    ASSERT_EQ(server.command({"PERSIST", prefix + "one"}), "1");
    ASSERT_TRUE(store->increment("one", 1, 5s));
    EXPECT_GT(number(server.command({"PTTL", prefix + "one"})), 0);
}

TEST(RedisKvStore, AnEmptiedScriptCacheFallsBackToEval) {
    auto& server = RedisProcess::shared();
    auto store = open_redis(server);
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(store->increment("k", 1, 10s).value(), 1);
    ASSERT_EQ(server.command({"SCRIPT", "FLUSH"}), "OK");
    EXPECT_EQ(store->increment("k", 1, 10s).value(), 2) << "NOSCRIPT, then EVAL: counted once";
    EXPECT_EQ(store->increment("k", 1, 10s).value(), 3) << "EVAL cached the script again";
}

TEST(RedisKvStore, OpeningAnUnreachableServerFailsNamingIt) {
    std::string url;
    {
        RedisProcess gone;
        url = "redis://:s3cret@127.0.0.1:" + std::to_string(gone.port());
    } // stopped: nothing listens on its port now
    auto endpoint = parse_redis_url(url);
    ASSERT_TRUE(endpoint);
    auto opened = RedisKvStore::open({.endpoint = *endpoint}, 300ms);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, core::Errc::Unavailable);
    EXPECT_NE(opened.error().message.find("kv.url"), std::string::npos);
    EXPECT_NE(opened.error().message.find("127.0.0.1"), std::string::npos);
    EXPECT_EQ((opened.error().message + opened.error().detail).find("s3cret"), std::string::npos);
}

TEST(RedisKvStore, CallsToAHungServerAreBoundedThenFailAtOnceUntilItAnswers) {
    RedisProcess server;
    AvailabilityLog log; // before the store: it may report until the store is gone
    auto store = open_redis(server, unique_prefix(), 300ms);
    ASSERT_NE(store, nullptr);
    log.watch(*store);
    ASSERT_TRUE(store->increment("k", 1, 10s));

    server.freeze();
    const auto start = std::chrono::steady_clock::now();
    auto hung = store->increment("k", 1, 10s);
    ASSERT_FALSE(hung);
    EXPECT_EQ(hung.error().code, core::Errc::Unavailable);
    EXPECT_FALSE(store->available());
    for (int i = 0; i < 20; ++i) { // 20 × 300 ms would be 6 s: these must not wait
        EXPECT_FALSE(store->get_counter("k"));
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);

    server.thaw();
    ASSERT_TRUE(poll_until([&] { return store->available(); }, 10s));
    // The timed-out increment reached Redis before it froze, and may have run on thawing.
    EXPECT_GE(store->increment("k", 1, 10s).value(), 2);
    EXPECT_EQ(log.changes(), (std::vector<bool>{false, true}));
}

TEST(RedisKvStore, ARestartedServerIsReconnectedAndSubscribedAgain) {
    RedisProcess server;
    const auto prefix = unique_prefix();
    AvailabilityLog log;
    Inbox inbox;
    auto store = open_redis(server, prefix);
    ASSERT_NE(store, nullptr);
    log.watch(*store);
    auto subscription = store->subscribe("config", inbox.handler());
    ASSERT_TRUE(store->increment("k", 1, 10s)); // leaves a pooled connection to this server

    server.kill();
    ASSERT_TRUE(poll_until([&] { return !store->available(); }))
        << "the subscriber notices the closed connection";
    auto refused = store->publish("config", "lost");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, core::Errc::Unavailable);

    server.start_again();
    ASSERT_TRUE(poll_until([&] { return store->available(); }, 10s));
    EXPECT_EQ(log.changes(), (std::vector<bool>{false, true}))
        << "the application is told, to drop what it cached";
    ASSERT_EQ(number(server.command({"PUBLISH", prefix + "config", "after"})), 1)
        << "subscribed again before reporting itself available";
    ASSERT_TRUE(inbox.wait_for(1));
    EXPECT_EQ(inbox.messages(), std::vector<std::string>{"after"});
    EXPECT_TRUE(store->increment("k", 1, 10s)) << "no pooled connection to the old server is used";
    EXPECT_EQ(log.changes(), (std::vector<bool>{false, true}));
}

TEST(RedisKvStore, MetricsCountCommandsAndErrors) {
    RedisProcess server;
    auto store = open_redis(server);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->increment_all({{"a", 1, 1s}, {"b", 1, 1s}}));
    EXPECT_EQ(store->commands(), 2U) << "one EVALSHA per delta, in one pipeline";
    server.kill();
    EXPECT_FALSE(store->get_counter("a"));
    std::string text;
    core::MetricWriter writer(text);
    store->write_metrics(writer);
    EXPECT_NE(text.find("imagecdn_kv_up 0"), std::string::npos) << text;
    EXPECT_NE(text.find("imagecdn_kv_errors_total 1"), std::string::npos) << text;
}

} // namespace
} // namespace cdn::kv::testing
