// The API's signup and failed-login limits with several nodes: two LoginLimiter instances over
// one store stand for two API nodes sharing Redis (issue 17: these limits are global).
#include "api/auth/login_limiter.h"

#include <gtest/gtest.h>

#include "fake_clock.h"
#include "switchable_kv_store.h"

namespace cdn::api {
namespace {

using cdn::test::FakeClock;

class LoginLimiterNodesTest : public ::testing::Test {
protected:
    /** Whether a login for `email` from `address` may be tried on `node`. */
    bool may_try(LoginLimiter& node, std::string_view email, std::string_view address) {
        auto decision = node.check(email, address);
        EXPECT_TRUE(decision) << decision.error().detail;
        return decision && decision->allowed;
    }

    FakeClock clock_;
    test::SwitchableKvStore store_{clock_};
    LoginLimiter node_a_{store_, clock_};
    LoginLimiter node_b_{store_, clock_};
};

TEST_F(LoginLimiterNodesTest, FailedLoginsSpreadOverNodesHitThePerEmailLimitAtTheTotal) {
    for (int i = 0; i < LoginLimiter::MAX_FAILURES_PER_EMAIL; ++i) {
        LoginLimiter& node = i % 2 == 0 ? node_a_ : node_b_;
        ASSERT_TRUE(may_try(node, "victim@example.com", "198.51.100." + std::to_string(i)))
            << i;
        node.record_failure("victim@example.com", "198.51.100." + std::to_string(i));
    }
    EXPECT_FALSE(may_try(node_a_, "victim@example.com", "203.0.113.1"));
    EXPECT_FALSE(may_try(node_b_, "victim@example.com", "203.0.113.1"));
    EXPECT_TRUE(may_try(node_b_, "other@example.com", "203.0.113.1"));
}

TEST_F(LoginLimiterNodesTest, FailedLoginsSpreadOverNodesHitThePerAddressLimitAtTheTotal) {
    for (int i = 0; i < LoginLimiter::MAX_FAILURES_PER_ADDRESS; ++i) {
        LoginLimiter& node = i % 2 == 0 ? node_a_ : node_b_;
        node.record_failure("user" + std::to_string(i) + "@example.com", "203.0.113.7");
    }
    EXPECT_FALSE(may_try(node_a_, "fresh@example.com", "203.0.113.7"));
    EXPECT_FALSE(may_try(node_b_, "fresh@example.com", "203.0.113.7"));
}

TEST_F(LoginLimiterNodesTest, SignupsSpreadOverNodesHitTheLimitAtTheTotal) {
    int allowed = 0;
    for (int i = 0; i < 2 * LoginLimiter::MAX_SIGNUPS_PER_ADDRESS; ++i) {
        auto decision = (i % 2 == 0 ? node_a_ : node_b_).admit_signup("203.0.113.9");
        ASSERT_TRUE(decision);
        allowed += decision->allowed ? 1 : 0;
    }
    EXPECT_EQ(allowed, LoginLimiter::MAX_SIGNUPS_PER_ADDRESS);
}

TEST_F(LoginLimiterNodesTest, AnUnreachableStoreFailsLoginsAndSignupsClosed) {
    store_.down = true;
    // Logins and signups are refused (the routes answer 503) rather than allowing unlimited
    // guessing or account creation; a failure that cannot be counted is only logged.
    const auto login = node_a_.check("victim@example.com", "203.0.113.1");
    ASSERT_FALSE(login);
    EXPECT_EQ(login.error().code, core::Errc::Unavailable);
    const auto signup = node_a_.admit_signup("203.0.113.1");
    ASSERT_FALSE(signup);
    EXPECT_EQ(signup.error().code, core::Errc::Unavailable);
    node_a_.record_failure("victim@example.com", "203.0.113.1");

    store_.down = false;
    EXPECT_TRUE(may_try(node_b_, "victim@example.com", "203.0.113.1"));
}

} // namespace
} // namespace cdn::api
