#include "http/rate_window.h"

#include <gtest/gtest.h>

namespace cdn::http {
namespace {

using namespace std::chrono_literals;
const auto T0 = RateWindow::Clock::time_point{} + 1000s;
const auto FAR = T0 + 3600s;

TEST(RateWindow, ADripBelowTheRateIsCutAtTheEndOfTheFirstWindow) {
    RateWindow rate(1024, T0);
    // One byte a second: the deadline stays at the window's end, and bytes after it are late.
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(rate.add(1, T0 + std::chrono::seconds(i)));
        EXPECT_EQ(rate.deadline(FAR), T0 + 5s);
    }
    EXPECT_FALSE(rate.add(1, T0 + 5s));
}

TEST(RateWindow, AFullWindowExtendsTheDeadlineToTheNextOne) {
    RateWindow rate(1024, T0);
    EXPECT_TRUE(rate.add(5120, T0 + 1s));
    EXPECT_EQ(rate.deadline(FAR), T0 + 10s);
    // Bytes in the second window count for it, not the first.
    EXPECT_TRUE(rate.add(100, T0 + 6s));
    EXPECT_EQ(rate.deadline(FAR), T0 + 10s);
    EXPECT_FALSE(rate.add(100, T0 + 10s));
}

TEST(RateWindow, SteadyTransferAtTheRateIsNeverCut) {
    RateWindow rate(1024, T0);
    for (int second = 0; second <= 60; ++second) {
        ASSERT_TRUE(rate.add(1024, T0 + std::chrono::seconds(second))) << second;
        ASSERT_GT(rate.deadline(FAR), T0 + std::chrono::seconds(second)) << second;
    }
}

TEST(RateWindow, ThePhaseEndComesFirstWhenSooner) {
    RateWindow rate(1024, T0);
    EXPECT_EQ(rate.deadline(T0 + 2s), T0 + 2s);
}

TEST(RateWindow, ZeroTurnsTheCheckOff) {
    RateWindow rate(0, T0);
    EXPECT_EQ(rate.deadline(FAR), FAR);
    EXPECT_TRUE(rate.add(1, T0 + 3000s));
}

} // namespace
} // namespace cdn::http
