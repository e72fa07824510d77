#include "storage/circuit_breaker.h"

#include <gtest/gtest.h>

namespace cdn::storage {
namespace {

using std::chrono::milliseconds;

TEST(CircuitBreaker, OpensAfterFailuresInARowOnly) {
    CircuitBreaker breaker(3, milliseconds(1000));
    breaker.record(true, 0);
    breaker.record(true, 0);
    breaker.record(false, 0); // an answer resets the count
    breaker.record(true, 0);
    breaker.record(true, 0);
    EXPECT_TRUE(breaker.allow(0));
    EXPECT_FALSE(breaker.open());
    breaker.record(true, 10);
    EXPECT_TRUE(breaker.open());
    EXPECT_FALSE(breaker.allow(10));
    EXPECT_FALSE(breaker.allow(1009));
}

TEST(CircuitBreaker, AfterTheCoolDownOneProbeGoesAndTheOthersStillFailFast) {
    CircuitBreaker breaker(1, milliseconds(1000));
    breaker.record(true, 0);
    EXPECT_TRUE(breaker.allow(1000));  // the probe
    EXPECT_FALSE(breaker.allow(1000)); // the others, while it runs
    EXPECT_FALSE(breaker.allow(1500));
    breaker.record(false, 1600); // it got an answer: closed
    EXPECT_FALSE(breaker.open());
    EXPECT_TRUE(breaker.allow(1600));
    EXPECT_TRUE(breaker.allow(1600));
}

TEST(CircuitBreaker, AProbeThatFailsOpensItForAnotherCoolDown) {
    CircuitBreaker breaker(2, milliseconds(1000));
    breaker.record(true, 0);
    breaker.record(true, 0);
    ASSERT_TRUE(breaker.allow(1000));
    breaker.record(true, 1300);
    EXPECT_FALSE(breaker.allow(2299));
    EXPECT_TRUE(breaker.allow(2300));
    // A probe that never records (its thread is stuck) does not keep the breaker shut forever.
    EXPECT_FALSE(breaker.allow(3299));
    EXPECT_TRUE(breaker.allow(3300));
}

} // namespace
} // namespace cdn::storage
