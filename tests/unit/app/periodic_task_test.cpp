#include "app/periodic_task.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace cdn::app {
namespace {

using namespace std::chrono_literals;

TEST(PeriodicTask, RunsEveryIntervalAndStopsAtOnceWhenDestroyed) {
    std::atomic<int> runs{0};
    {
        PeriodicTask task(10ms, [&runs] { ++runs; });
        std::this_thread::sleep_for(200ms);
    }
    const int after_destruction = runs.load();
    EXPECT_GE(after_destruction, 3);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(runs.load(), after_destruction) << "no run after destruction";
}

TEST(PeriodicTask, DestructionDoesNotWaitForTheIntervalNorRunTheTask) {
    std::atomic<int> runs{0};
    const auto started = std::chrono::steady_clock::now();
    { PeriodicTask task(1h, [&runs] { ++runs; }); }
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
    EXPECT_EQ(runs.load(), 0);
}

} // namespace
} // namespace cdn::app
