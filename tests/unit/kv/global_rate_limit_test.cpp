// Several RateLimiter instances sharing one MemoryKvStore stand for edge nodes sharing Redis:
// each decides on its own memory and reconciles with the store every RECONCILE_INTERVAL, as
// the service's timer does, driven here by a FakeClock so no test sleeps.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "fake_clock.h"
#include "kv/rate_limiter.h"
#include "switchable_kv_store.h"

namespace cdn::kv {
namespace {

using namespace std::chrono_literals;
using cdn::test::FakeClock;
using cdn::test::SwitchableKvStore;

/** A client sending evenly spaced requests to one node. */
struct Sender {
    std::size_t node = 0;
    int per_second = 0;
    ClientId client = 1;
};

struct Outcome {
    std::vector<int> sent;
    std::vector<int> allowed;
    int total_allowed = 0;
    /** The most and the least the fleet allowed in one (fixed) second. */
    int busiest_second = 0;
    int quietest_second = 1 << 30;
};

class GlobalRateLimitTest : public ::testing::Test {
protected:
    void add_nodes(std::size_t count, std::uint32_t expected_nodes = 1) {
        for (std::size_t i = 0; i < count; ++i) {
            nodes_.push_back(std::make_unique<RateLimiter>(
                store_, clock_, RateLimiter::MAX_TRACKED_CUSTOMERS, expected_nodes));
        }
    }

    /** Runs `seconds` simulated seconds one millisecond at a time, counted after `warm_up`
     *  seconds of the same traffic. Node i reconciles every interval, i / N of an interval
     *  after node 0, as independent timers would. */
    Outcome run(const std::vector<Sender>& senders, std::uint64_t limit, int seconds,
                int warm_up = 2) {
        Outcome o{std::vector<int>(senders.size()), std::vector<int>(senders.size())};
        const auto interval = static_cast<int>(RateLimiter::RECONCILE_INTERVAL.count());
        for (int second = 0; second < warm_up + seconds; ++second) {
            const bool counted = second >= warm_up;
            int this_second = 0;
            for (int ms = 0; ms < 1000; ++ms) {
                reconcile_due(ms, interval);
                for (std::size_t s = 0; s < senders.size(); ++s) {
                    const int rate = senders[s].per_second;
                    const int at = (ms + static_cast<int>(s) * 7) % 1000;
                    for (int r = at * rate / 1000; r < (at + 1) * rate / 1000; ++r) {
                        const auto decision =
                            nodes_[senders[s].node]->check("pk_a", limit, senders[s].client);
                        EXPECT_TRUE(decision);
                        const bool allowed = decision && decision->allowed;
                        this_second += allowed ? 1 : 0;
                        o.sent[s] += counted ? 1 : 0;
                        o.allowed[s] += counted && allowed ? 1 : 0;
                    }
                }
                clock_.advance(1ms);
            }
            if (counted) {
                o.total_allowed += this_second;
                o.busiest_second = std::max(o.busiest_second, this_second);
                o.quietest_second = std::min(o.quietest_second, this_second);
            }
        }
        return o;
    }

    void reconcile_due(int ms, int interval) {
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            const auto offset = static_cast<int>(i) * interval / static_cast<int>(nodes_.size());
            if ((ms + interval - offset) % interval == 0) {
                (void)nodes_[i]->reconcile(); // a failure is the degraded mode under test
            }
        }
    }

    FakeClock clock_;
    SwitchableKvStore store_{clock_};
    std::vector<std::unique_ptr<RateLimiter>> nodes_;
};

/** Within 5% of `limit` a second over `seconds`. */
void expect_near_limit(const Outcome& o, std::uint64_t limit, int seconds) {
    const double expected = static_cast<double>(limit) * seconds;
    EXPECT_NEAR(o.total_allowed, expected, 0.05 * expected)
        << "busiest second " << o.busiest_second << ", quietest " << o.quietest_second;
}

TEST_F(GlobalRateLimitTest, ABurstSplitOverTwoNodesIsHeldToTheLimit) {
    for (const std::uint64_t limit : {50, 500, 2000}) {
        nodes_.clear();
        add_nodes(2);
        const int demand = static_cast<int>(limit) * 3; // each node alone would allow it all
        const auto o = run({{0, demand}, {1, demand}}, limit, 10);
        SCOPED_TRACE(limit);
        expect_near_limit(o, limit, 10);
        clock_.advance(3s);
    }
}

TEST_F(GlobalRateLimitTest, FourNodesAreHeldToTheLimit) {
    add_nodes(4);
    const auto o = run({{0, 1000}, {1, 1000}, {2, 1000}, {3, 1000}}, 500, 10);
    expect_near_limit(o, 500, 10);
}

TEST_F(GlobalRateLimitTest, AnUnevenSplitOverThreeNodesIsHeldToTheLimit) {
    add_nodes(3);
    const auto o = run({{0, 4000}, {1, 1000}, {2, 300}}, 500, 10);
    expect_near_limit(o, 500, 10);
    EXPECT_GT(o.allowed[2], 0) << "the quiet node is not starved";
}

TEST_F(GlobalRateLimitTest, ANodeAloneAllowsTheLimit) {
    add_nodes(1);
    const auto o = run({{0, 2000}}, 500, 10);
    expect_near_limit(o, 500, 10);
    EXPECT_LE(o.busiest_second, 500);
}

TEST_F(GlobalRateLimitTest, WithinTheLimitNothingIsRefusedOnAnyNode) {
    add_nodes(3);
    const auto o = run({{0, 100}, {1, 150}, {2, 200}}, 500, 5);
    EXPECT_EQ(o.allowed, o.sent);
}

TEST_F(GlobalRateLimitTest, ReconciliationCostsOneOperationPerCustomerAndPass) {
    add_nodes(1);
    (void)run({{0, 20'000}}, 1'000'000, 5, 0);
    // 20 passes a second, each one increment (plus a read of the previous window in the first
    // two passes of a second): 5 s × 22, where counting in the store took 100,000.
    EXPECT_LE(store_.operations, 5 * 22 + 2);
    EXPECT_EQ(nodes_[0]->store_operations(), store_.operations);

    // Once the customer has been quiet for two seconds it costs the store nothing.
    clock_.advance(2s);
    (void)nodes_[0]->reconcile(); // the last pass that flushes and drops it
    const auto before = store_.operations.load();
    clock_.advance(RateLimiter::RECONCILE_INTERVAL);
    ASSERT_TRUE(nodes_[0]->reconcile());
    EXPECT_EQ(store_.operations, before);
}

TEST_F(GlobalRateLimitTest, AnUnreachableStoreLeavesEachNodeItsPartOfTheLimit) {
    add_nodes(2, /*expected_nodes=*/2);
    (void)run({{0, 1000}, {1, 1000}}, 500, 1, 1); // global and warm
    store_.down = true;
    const auto o = run({{0, 1000}, {1, 200}}, 500, 10);
    EXPECT_TRUE(nodes_[0]->degraded());
    EXPECT_TRUE(nodes_[1]->degraded());
    // Each node allows 250/s on its own counts: node 1's 200/s are all served.
    EXPECT_NEAR(o.allowed[0], 250 * 10, 0.05 * 250 * 10);
    EXPECT_EQ(o.allowed[1], o.sent[1]);

    store_.down = false;
    const auto back = run({{0, 1000}, {1, 200}}, 500, 10);
    EXPECT_FALSE(nodes_[0]->degraded());
    expect_near_limit(back, 500, 10);
}

TEST_F(GlobalRateLimitTest, FairnessHoldsOnANodeThatReconciles) {
    // RateLimiterTest's fair-share case, with the reconciliation running: the flood gets what
    // the four visitors leave, and they are all served.
    add_nodes(1);
    const auto o = run({{0, 500, 1}, {0, 5, 2}, {0, 5, 3}, {0, 5, 4}, {0, 5, 5}}, 50, 10, 1);
    for (std::size_t c = 1; c < o.sent.size(); ++c) {
        EXPECT_EQ(o.allowed[c], o.sent[c]) << "light client " << c;
    }
    EXPECT_GE(o.allowed[0], 28 * 10);
    EXPECT_LE(o.allowed[0], 34 * 10);
    EXPECT_LE(o.busiest_second, 50 + RateLimiter::light_slack(50));
}

} // namespace
} // namespace cdn::kv
