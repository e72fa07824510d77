#include "app/periodic_task.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "poll_until.h"

namespace cdn::app {
namespace {

using namespace std::chrono_literals;

TEST(PeriodicTask, RunsEveryIntervalAndStopsAtOnceWhenDestroyed) {
    std::atomic<int> runs{0};
    // Held by the task: once the task is gone, nothing is left that could run it again.
    const auto task_alive = std::make_shared<int>(0);
    {
        PeriodicTask task(10ms, [&runs, task_alive] { ++runs; });
        EXPECT_TRUE(test::poll_until([&] { return runs.load() >= 3; }));
    }
    const int after_destruction = runs.load();
    EXPECT_GE(after_destruction, 3);
    EXPECT_EQ(task_alive.use_count(), 1) << "the task outlived its PeriodicTask";
    EXPECT_EQ(runs.load(), after_destruction) << "no run after destruction";
}

TEST(PeriodicTask, DestructionDoesNotWaitForTheIntervalNorRunTheTask) {
    std::atomic<int> runs{0};
    const auto started = std::chrono::steady_clock::now();
    { PeriodicTask task(1h, [&runs] { ++runs; }); }
    // Far short of the hour: the destructor woke the thread instead of waiting it out.
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1min);
    EXPECT_EQ(runs.load(), 0);
}

} // namespace
} // namespace cdn::app
