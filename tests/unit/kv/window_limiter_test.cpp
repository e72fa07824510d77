#include "kv/window_limiter.h"

#include <gtest/gtest.h>

#include "fake_clock.h"
#include "kv/memory_kv_store.h"
#include "switchable_kv_store.h"

namespace cdn::kv {
namespace {

using namespace std::chrono_literals;
using cdn::test::FakeClock;

class WindowLimiterTest : public ::testing::Test {
protected:
    WindowDecision admit(std::string_view key, std::uint64_t limit = 3) {
        auto decision = limiter_.admit(key, limit);
        EXPECT_TRUE(decision) << decision.error().detail;
        return decision ? *decision : WindowDecision{};
    }

    FakeClock clock_{1'700'000'020}; // 40 s into a minute
    MemoryKvStore store_{clock_};
    WindowLimiter limiter_{store_, clock_, "purge"};
};

TEST_F(WindowLimiterTest, AllowsTheLimitThenRefusesUntilTheWindowEnds) {
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(admit("cus_a").allowed) << i;
    }
    const auto refused = admit("cus_a");
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after_seconds, 20);
    clock_.advance(19s);
    EXPECT_FALSE(admit("cus_a").allowed);
    EXPECT_EQ(admit("cus_a").retry_after_seconds, 1);
    clock_.advance(1s); // the next minute
    EXPECT_TRUE(admit("cus_a").allowed);
}

TEST_F(WindowLimiterTest, CountsEachKeyAndEachNameApart) {
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(admit("cus_a").allowed);
    }
    EXPECT_FALSE(admit("cus_a").allowed);
    EXPECT_TRUE(admit("cus_b").allowed);
    WindowLimiter settings(store_, clock_, "settings");
    EXPECT_TRUE(settings.admit("cus_a", 3)->allowed);
}

TEST_F(WindowLimiterTest, ALimitOfZeroRefusesEverything) {
    EXPECT_FALSE(admit("cus_a", 0).allowed);
}

TEST_F(WindowLimiterTest, NodesSharingAStoreShareTheLimit) {
    // Two nodes' limiters over one store (Redis in a fleet): the keys name no node, so the
    // limit is the total wherever the events land.
    WindowLimiter other_node(store_, clock_, "purge");
    EXPECT_TRUE(admit("cus_a").allowed);
    EXPECT_TRUE(other_node.admit("cus_a", 3)->allowed);
    EXPECT_TRUE(admit("cus_a").allowed);
    EXPECT_FALSE(other_node.admit("cus_a", 3)->allowed);
    EXPECT_FALSE(admit("cus_a").allowed);
}

TEST(WindowLimiterErrors, AnUnreachableStoreIsTheCallersError) {
    FakeClock clock;
    test::SwitchableKvStore store(clock);
    store.down = true;
    const auto decision = WindowLimiter(store, clock, "purge").admit("cus_a", 3);
    ASSERT_FALSE(decision);
    EXPECT_EQ(decision.error().code, core::Errc::Unavailable);
}

} // namespace
} // namespace cdn::kv
