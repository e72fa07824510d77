#include "kv/rate_limiter.h"

#include <gtest/gtest.h>

#include "fake_clock.h"
#include "kv/memory_kv_store.h"

namespace cdn::kv {
namespace {

using namespace std::chrono_literals;
using cdn::test::FakeClock;

class RateLimiterTest : public ::testing::Test {
protected:
    RateDecision check(std::string_view key, std::uint64_t limit) {
        auto decision = limiter_.check(key, limit);
        EXPECT_TRUE(decision) << decision.error().detail;
        return decision ? *decision : RateDecision{};
    }

    /** How many of `attempts` checks, `spacing` apart, are allowed. */
    int allowed_of(int attempts, std::uint64_t limit, std::chrono::milliseconds spacing = 0ms,
                   std::string_view key = "pk_a") {
        int allowed = 0;
        for (int i = 0; i < attempts; ++i) {
            allowed += check(key, limit).allowed ? 1 : 0;
            clock_.advance(spacing);
        }
        return allowed;
    }

    FakeClock clock_; // starts exactly on a second boundary
    MemoryKvStore store_{clock_};
    RateLimiter limiter_{store_, clock_};
};

TEST_F(RateLimiterTest, KeyNamesTheCustomerAndTheSecond) {
    EXPECT_EQ(rate_limit_key("pk_a", 1'700'000'000), "ratelimit:pk_a:1700000000");
    ASSERT_TRUE(check("pk_a", 5).allowed);
    EXPECT_EQ(store_.get_counter("ratelimit:pk_a:1700000000").value(), 1);
}

TEST_F(RateLimiterTest, AllowsExactlyTheLimitWithinOneSecond) {
    EXPECT_EQ(allowed_of(20, 5, 40ms), 5); // 20 checks spread over 800 ms
    EXPECT_EQ(limiter_.rejected(), 15U);
}

TEST_F(RateLimiterTest, RejectedRequestsAreNotCounted) {
    EXPECT_EQ(allowed_of(50, 10), 10);
    EXPECT_EQ(store_.get_counter("ratelimit:pk_a:1700000000").value(), 10);
}

TEST_F(RateLimiterTest, PreviousSecondWeighsByWhatIsLeftOfTheCurrentOne) {
    ASSERT_EQ(allowed_of(10, 10), 10);

    clock_.advance(1000ms); // previous 10, weight 1.0: the estimate is still 10
    const auto full = check("pk_a", 10);
    EXPECT_FALSE(full.allowed);
    EXPECT_EQ(full.retry_after, 1ms) << "one millisecond later the weight is 0.999";

    clock_.advance(500ms); // weight 0.5: 10 * 0.5 = 5, so five more fit
    EXPECT_EQ(allowed_of(20, 10), 5);

    clock_.advance(400ms); // weight 0.1: 5 + 1 = 6, so four more fit
    EXPECT_EQ(allowed_of(20, 10), 4);
}

TEST_F(RateLimiterTest, OnlyTheImmediatelyPreviousSecondCounts) {
    ASSERT_EQ(allowed_of(10, 10), 10);
    clock_.advance(2000ms);
    EXPECT_EQ(allowed_of(20, 10), 10);
}

TEST_F(RateLimiterTest, RetryAfterIsWhenTheNextRequestFits) {
    clock_.advance(200ms);
    ASSERT_EQ(allowed_of(10, 10), 10);
    const auto spent = check("pk_a", 10);
    ASSERT_FALSE(spent.allowed);
    // 800 ms to the next second, plus 1 ms for the previous window to weigh below 10.
    EXPECT_EQ(spent.retry_after, 801ms);

    clock_.advance(spent.retry_after - 1ms);
    EXPECT_FALSE(check("pk_a", 10).allowed);
    clock_.advance(1ms);
    EXPECT_TRUE(check("pk_a", 10).allowed);
}

TEST_F(RateLimiterTest, RetryAfterIsAlwaysWithinOneSecond) {
    const std::uint64_t limits[] = {0, 1, 3, 10, 100};
    for (auto limit : limits) {
        for (int step = 0; step < 40; ++step) {
            clock_.advance(37ms);
            for (int i = 0; i < 120; ++i) {
                auto decision = check("pk_" + std::to_string(limit), limit);
                if (!decision.allowed) {
                    EXPECT_GT(decision.retry_after, 0ms);
                    EXPECT_LE(decision.retry_after, 1000ms);
                }
            }
        }
    }
}

TEST_F(RateLimiterTest, ZeroLimitRejectsEverything) {
    const auto decision = check("pk_a", 0);
    EXPECT_FALSE(decision.allowed);
    EXPECT_EQ(decision.retry_after, 1000ms);
}

TEST_F(RateLimiterTest, CustomersAreLimitedSeparately) {
    ASSERT_EQ(allowed_of(10, 3, 0ms, "pk_a"), 3);
    EXPECT_EQ(allowed_of(10, 3, 0ms, "pk_b"), 3);
    EXPECT_FALSE(check("pk_a", 3).allowed);
}

TEST_F(RateLimiterTest, CountersExpireAfterTwoSeconds) {
    ASSERT_TRUE(check("pk_a", 10).allowed);
    clock_.advance(RateLimiter::COUNTER_TTL);
    EXPECT_EQ(store_.get_counter("ratelimit:pk_a:1700000000").value(), std::nullopt);
}

/** A store whose every call fails, as an unreachable Redis would. */
class DownStore final : public KvStore {
public:
    core::Result<std::int64_t> increment(std::string_view, std::int64_t,
                                         std::chrono::milliseconds) override {
        return down();
    }
    core::Result<std::optional<std::int64_t>> get_counter(std::string_view) override {
        return down();
    }
    core::Result<void> publish(std::string_view, std::string_view) override { return down(); }
    Subscription subscribe(std::string, MessageHandler) override { return {}; }

private:
    static core::Error down() { return core::make_error(core::Errc::Unavailable, "kv down"); }
};

TEST(RateLimiterErrors, StoreErrorsReachTheCaller) {
    FakeClock clock;
    DownStore store;
    RateLimiter limiter(store, clock);
    auto decision = limiter.check("pk_a", 10);
    ASSERT_FALSE(decision);
    EXPECT_EQ(decision.error().code, core::Errc::Unavailable);
    EXPECT_EQ(limiter.rejected(), 0U);
}

} // namespace
} // namespace cdn::kv
