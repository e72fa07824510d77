// The KvStore contract: every backend passes the same tests (CDN_ON_EVERY_KV_BACKEND).

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "kv_test_support.h"

namespace cdn::kv::testing {
namespace {

using namespace std::chrono_literals;

TEST_P(KvStoreTest, IncrementCreatesThenAdds) {
    EXPECT_EQ(store_->increment("k", 3, 1s).value(), 3);
    EXPECT_EQ(store_->increment("k", 4, 1s).value(), 7);
    EXPECT_EQ(store_->increment("k", -2, 1s).value(), 5);
    EXPECT_EQ(counter("k"), 5);
}

TEST_P(KvStoreTest, MissingCounterIsNullopt) { EXPECT_EQ(counter("absent"), std::nullopt); }

TEST_P(KvStoreTest, CounterExpiresAfterItsTtl) {
    ASSERT_TRUE(store_->increment("k", 1, 1000ms));
    EXPECT_EQ(counter("k"), 1);
    let_pass(1000ms);
    EXPECT_EQ(counter("k"), std::nullopt);
    EXPECT_EQ(store_->increment("k", 5, 1s).value(), 5) << "an expired counter starts afresh";
}

TEST_P(KvStoreTest, IncrementDoesNotExtendTheTtl) {
    ASSERT_TRUE(store_->increment("k", 1, 1000ms));
    let_pass(600ms);
    ASSERT_TRUE(store_->increment("k", 1, 1000ms));
    let_pass(400ms);
    EXPECT_EQ(counter("k"), std::nullopt);
}

TEST_P(KvStoreTest, RejectsNonPositiveTtl) {
    EXPECT_FALSE(store_->increment("k", 1, 0ms));
    EXPECT_FALSE(store_->increment("k", 1, -5ms));
    EXPECT_EQ(counter("k"), std::nullopt);
}

TEST_P(KvStoreTest, OverflowIsAnErrorAndKeepsTheValue) {
    ASSERT_TRUE(store_->increment("k", INT64_MAX, 1s));
    EXPECT_FALSE(store_->increment("k", 1, 1s));
    EXPECT_EQ(counter("k"), INT64_MAX);
}

TEST_P(KvStoreTest, IncrementAllAppliesEachDeltaInOrder) {
    ASSERT_TRUE(store_->increment("a", 10, 5s));
    const auto values = store_->increment_all({{"a", 1, 5s}, {"b", 2, 5s}, {"a", 3, 5s}});
    ASSERT_TRUE(values);
    EXPECT_EQ(*values, (std::vector<std::int64_t>{11, 2, 14}));
    EXPECT_EQ(counter("b"), 2);
    EXPECT_FALSE(store_->increment_all({{"c", 1, 0ms}}));
}

TEST_P(KvStoreTest, ConcurrentIncrementsLoseNoCounts) {
    // A round trip per call on Redis: fewer calls there, the same interleaving of threads.
    const int threads = 8;
    const int per_thread = GetParam() == Backend::Memory ? 20'000 : 300;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([this, per_thread] {
            for (int i = 0; i < per_thread; ++i) {
                ASSERT_TRUE(store_->increment("shared", 1, 60s));
                ASSERT_TRUE(store_->increment("own-" + std::to_string(i % 100), 1, 60s));
            }
        });
    }
    for (auto& worker : workers) {
        worker.join();
    }
    EXPECT_EQ(counter("shared"), threads * per_thread);
}

TEST_P(KvStoreTest, PublishReachesEverySubscriberOfTheChannel) {
    Inbox first;
    Inbox second;
    Inbox other;
    auto a = store_->subscribe("purge", first.handler());
    auto b = store_->subscribe("purge", second.handler());
    auto c = store_->subscribe("config", other.handler());
    ASSERT_TRUE(store_->publish("purge", "pk_1:/a.png"));
    settle();
    EXPECT_EQ(first.messages(), std::vector<std::string>{"pk_1:/a.png"});
    EXPECT_EQ(second.messages(), std::vector<std::string>{"pk_1:/a.png"});
    EXPECT_TRUE(other.messages().empty());
}

TEST_P(KvStoreTest, PublishWithoutSubscribersSucceeds) {
    EXPECT_TRUE(store_->publish("none", "x"));
}

TEST_P(KvStoreTest, DestroyingTheSubscriptionUnsubscribes) {
    Inbox inbox;
    {
        auto subscription = store_->subscribe("ch", inbox.handler());
        ASSERT_TRUE(store_->publish("ch", "one"));
        ASSERT_TRUE(inbox.wait_for(1));
        EXPECT_TRUE(subscription.active());
    }
    ASSERT_TRUE(store_->publish("ch", "two"));
    settle();
    EXPECT_EQ(inbox.messages(), std::vector<std::string>{"one"});
}

TEST_P(KvStoreTest, MovedSubscriptionStaysSubscribedUntilReset) {
    Inbox inbox;
    Subscription kept;
    {
        auto subscription = store_->subscribe("ch", inbox.handler());
        kept = std::move(subscription);
    }
    ASSERT_TRUE(store_->publish("ch", "one"));
    ASSERT_TRUE(inbox.wait_for(1));
    kept.reset();
    EXPECT_FALSE(kept.active());
    ASSERT_TRUE(store_->publish("ch", "two"));
    settle();
    EXPECT_EQ(inbox.messages(), std::vector<std::string>{"one"});
}

TEST_P(KvStoreTest, HandlerMayUnsubscribeItself) {
    std::atomic<int> received{0};
    Subscription subscription;
    subscription = store_->subscribe("ch", [&](std::string_view) {
        ++received;
        subscription.reset();
    });
    ASSERT_TRUE(store_->publish("ch", "one"));
    ASSERT_TRUE(store_->publish("ch", "two"));
    settle();
    EXPECT_EQ(received.load(), 1);
}

TEST_P(KvStoreTest, SubscriptionMayOutliveTheStore) {
    Subscription subscription;
    {
        auto store = make_store();
        ASSERT_NE(store, nullptr);
        subscription = store->subscribe("ch", [](std::string_view) {});
    }
    subscription.reset(); // must not touch the destroyed store
    EXPECT_FALSE(subscription.active());
}

TEST_P(KvStoreTest, IsAvailableWhileItsBackendAnswers) {
    EXPECT_TRUE(store_->available());
    ASSERT_TRUE(store_->increment("k", 1, 1s));
    EXPECT_TRUE(store_->available());
}

std::vector<std::string> messages_of(const LogTail& tail) {
    std::vector<std::string> messages;
    for (const auto& entry : tail.entries) {
        messages.push_back(entry.message);
    }
    return messages;
}

TEST_P(KvStoreTest, LogHandsOutSequenceNumbersAndReadsAfterOne) {
    EXPECT_EQ(store_->append_log("log", "a", 10, 5s).value(), 1);
    EXPECT_EQ(store_->append_log("log", "b:c", 10, 5s).value(), 2);
    EXPECT_EQ(store_->append_log("log", "d", 10, 5s).value(), 3);
    const auto tail = store_->read_log("log", 1).value();
    EXPECT_EQ(messages_of(tail), (std::vector<std::string>{"b:c", "d"}));
    EXPECT_EQ(tail.entries.front().sequence, 2);
    EXPECT_EQ(tail.last_sequence, 3);
    EXPECT_TRUE(tail.complete);
    const auto none = store_->read_log("log", 3).value();
    EXPECT_TRUE(none.entries.empty());
    EXPECT_TRUE(none.complete);
}

TEST_P(KvStoreTest, LogKeepsItsNewestEntriesAndSaysWhatWasTrimmed) {
    for (int i = 1; i <= 5; ++i) {
        ASSERT_TRUE(store_->append_log("log", std::to_string(i), 2, 5s));
    }
    const auto recent = store_->read_log("log", 3).value();
    EXPECT_EQ(messages_of(recent), (std::vector<std::string>{"4", "5"}));
    EXPECT_TRUE(recent.complete);
    const auto behind = store_->read_log("log", 1).value();
    EXPECT_EQ(messages_of(behind), (std::vector<std::string>{"4", "5"}));
    EXPECT_FALSE(behind.complete) << "entries 2 and 3 were trimmed";
}

TEST_P(KvStoreTest, ExpiredEntriesAreMissedButTheNumbersGoOn) {
    ASSERT_TRUE(store_->append_log("log", "a", 10, 1000ms));
    let_pass(1000ms);
    const auto tail = store_->read_log("log", 0).value();
    EXPECT_TRUE(tail.entries.empty());
    EXPECT_EQ(tail.last_sequence, 1);
    EXPECT_FALSE(tail.complete) << "entry 1 expired unread";
    EXPECT_TRUE(store_->read_log("log", 1).value().complete);
    EXPECT_EQ(store_->append_log("log", "b", 10, 1s).value(), 2);
}

TEST_P(KvStoreTest, LogRejectsNonPositiveBounds) {
    EXPECT_FALSE(store_->append_log("log", "a", 10, 0ms));
    EXPECT_FALSE(store_->append_log("log", "a", 0, 1s));
}

TEST_P(KvStoreTest, OneHolderAtATimeTakesALease) {
    EXPECT_TRUE(store_->acquire_lease("lease", "node-a", 5s).value());
    EXPECT_FALSE(store_->acquire_lease("lease", "node-b", 5s).value()) << "a holds it";
    EXPECT_FALSE(store_->acquire_lease("lease", "node-a", 5s).value()) << "not re-entrant";
    EXPECT_TRUE(store_->acquire_lease("other", "node-b", 5s).value()) << "leases are per key";
}

TEST_P(KvStoreTest, OnlyTheHolderReleasesALease) {
    ASSERT_TRUE(store_->acquire_lease("lease", "node-a", 5s).value());
    EXPECT_FALSE(store_->release_lease("lease", "node-b").value());
    EXPECT_FALSE(store_->acquire_lease("lease", "node-b", 5s).value()) << "b's release did nothing";
    EXPECT_TRUE(store_->release_lease("lease", "node-a").value());
    EXPECT_FALSE(store_->release_lease("lease", "node-a").value()) << "released once";
    EXPECT_TRUE(store_->acquire_lease("lease", "node-b", 5s).value());
}

TEST_P(KvStoreTest, AnUnrenewedLeaseExpiresAndTheNextHolderTakesIt) {
    ASSERT_TRUE(store_->acquire_lease("lease", "node-a", 1000ms).value());
    let_pass(1000ms);
    EXPECT_TRUE(store_->acquire_lease("lease", "node-b", 5s).value()) << "a died: b takes over";
    EXPECT_FALSE(store_->renew_lease("lease", "node-a", 5s).value()) << "a lost it";
    EXPECT_FALSE(store_->release_lease("lease", "node-a").value()) << "and cannot drop b's";
    EXPECT_FALSE(store_->acquire_lease("lease", "node-c", 5s).value()) << "b still holds it";
}

TEST_P(KvStoreTest, ARenewedLeaseOutlivesItsFirstTtl) {
    ASSERT_TRUE(store_->acquire_lease("lease", "node-a", 1000ms).value());
    let_pass(600ms);
    EXPECT_TRUE(store_->renew_lease("lease", "node-a", 1000ms).value());
    EXPECT_FALSE(store_->renew_lease("lease", "node-b", 1000ms).value()) << "b does not hold it";
    let_pass(600ms);
    EXPECT_FALSE(store_->acquire_lease("lease", "node-b", 5s).value()) << "renewed: still a's";
    let_pass(500ms);
    EXPECT_TRUE(store_->acquire_lease("lease", "node-b", 5s).value()) << "not renewed again";
}

TEST_P(KvStoreTest, LeasesRejectNonPositiveTtls) {
    EXPECT_FALSE(store_->acquire_lease("lease", "node-a", 0ms));
    ASSERT_TRUE(store_->acquire_lease("lease", "node-a", 5s).value());
    EXPECT_FALSE(store_->renew_lease("lease", "node-a", -1ms));
}

TEST_P(KvStoreTest, ValuesAreListedByPrefixUntilTheyExpire) {
    ASSERT_TRUE(store_->put_value("node:a", "A", 1000ms));
    ASSERT_TRUE(store_->put_value("node:b", "B", 5s));
    ASSERT_TRUE(store_->put_value("nodes-not:c", "C", 5s));
    ASSERT_TRUE(store_->put_value("node:b", "B2", 5s)) << "a put replaces";
    auto listed = store_->values_with_prefix("node:").value();
    std::ranges::sort(listed, {}, &KeyValue::key);
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].key, "node:a");
    EXPECT_EQ(listed[0].value, "A");
    EXPECT_EQ(listed[1].value, "B2");
    let_pass(1000ms);
    listed = store_->values_with_prefix("node:").value();
    ASSERT_EQ(listed.size(), 1u) << "node:a expired";
    EXPECT_EQ(listed[0].key, "node:b");
    EXPECT_TRUE(store_->values_with_prefix("absent:").value().empty());
    EXPECT_FALSE(store_->put_value("node:x", "X", 0ms));
}

TEST_P(KvStoreTest, GlobCharactersInAPrefixAreLiteral) {
    ASSERT_TRUE(store_->put_value("a*:1", "star", 5s));
    ASSERT_TRUE(store_->put_value("ab:1", "plain", 5s));
    const auto listed = store_->values_with_prefix("a*").value();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].value, "star");
}

CDN_ON_EVERY_KV_BACKEND(KvStoreTest);

} // namespace
} // namespace cdn::kv::testing
