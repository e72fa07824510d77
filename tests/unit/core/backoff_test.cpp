#include "core/backoff.h"

#include <gtest/gtest.h>

namespace cdn::core {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, EachDelayIsBetweenHalfAndAllOfACeilingThatDoublesUpToTheCap) {
    Backoff backoff(milliseconds(50), milliseconds(2000));
    for (const std::int64_t ceiling : {50, 100, 200, 400, 800, 1600, 2000, 2000, 2000}) {
        const auto delay = backoff.next().count();
        EXPECT_GE(delay, ceiling / 2) << "ceiling " << ceiling;
        EXPECT_LE(delay, ceiling) << "ceiling " << ceiling;
    }
}

TEST(Backoff, ResetStartsAgainFromTheFirstDelay) {
    Backoff backoff(milliseconds(100), milliseconds(1000));
    for (int i = 0; i < 5; ++i) {
        backoff.next();
    }
    EXPECT_GE(backoff.next().count(), 500);
    backoff.reset();
    EXPECT_LE(backoff.next().count(), 100);
}

TEST(Backoff, DelaysAreJitteredNotInLockstep) {
    Backoff a(milliseconds(1000), milliseconds(1000));
    Backoff b(milliseconds(1000), milliseconds(1000));
    int equal = 0;
    for (int i = 0; i < 20; ++i) {
        equal += a.next() == b.next() ? 1 : 0;
    }
    EXPECT_LT(equal, 5) << "501 values to draw from: twenty draws cannot agree this often";
}

TEST(Backoff, AnEndlessRetryStaysAtTheCapWithoutOverflow) {
    Backoff backoff(milliseconds(2), milliseconds(100));
    for (int i = 0; i < 1000; ++i) {
        const auto delay = backoff.next().count();
        ASSERT_GE(delay, 1);
        ASSERT_LE(delay, 100);
    }
}

} // namespace
} // namespace cdn::core
