// run_on_workers: the job runs on a worker and the coroutine resumes with its result; a job
// evicted from the queue by a lighter customer resumes its coroutine with 503 busy.
#include "edge/transform_runner.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <optional>
#include <thread>

namespace cdn::edge {
namespace {

namespace net = boost::asio;

using IntResult = core::Result<int>;

class TransformRunnerTest : public ::testing::Test {
protected:
    /** Starts `run_on_workers` for `owner` in a coroutine; its result lands in `out`. */
    void spawn(const transform::JobOwner& owner, int value, std::optional<IntResult>& out) {
        net::co_spawn(
            io_,
            [this, &owner, value, &out]() -> net::awaitable<void> {
                std::function<IntResult()> job = [this, value]() -> IntResult {
                    if (std::this_thread::get_id() == test_thread_) {
                        return core::make_error(core::Errc::Internal, "ran on the I/O thread");
                    }
                    return value;
                };
                out = co_await run_on_workers<int>(pool_, owner, std::move(job));
            },
            net::detached);
        io_.poll(); // runs the coroutine up to its submit
    }

    /** Runs the I/O context until `done` or a generous deadline. */
    template <class Done>
    bool run_until(Done done) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!done() && std::chrono::steady_clock::now() < until) {
            io_.run_one_for(std::chrono::milliseconds(50));
        }
        return done();
    }

    /** Holds the only worker until `release()`. */
    void block_worker() {
        std::latch started(1);
        const auto admitted = pool_.try_submit(
            {"x", "10.0.0.9"}, transform::Job{.run =
                                                   [this, &started] {
                                                       started.count_down();
                                                       std::unique_lock lock(mutex_);
                                                       released_.wait(lock, [this] { return free_; });
                                                   },
                                               .evicted = [] {}});
        ASSERT_EQ(admitted, transform::Admission::Queued);
        started.wait();
    }
    void release() {
        {
            std::lock_guard lock(mutex_);
            free_ = true;
        }
        released_.notify_all();
    }

    void TearDown() override { release(); } // a failed test must not leave the worker held

    // Declared before the pool, which outlives none of them: its jobs use them.
    net::io_context io_;
    net::executor_work_guard<net::io_context::executor_type> guard_ = net::make_work_guard(io_);
    std::mutex mutex_;
    std::condition_variable released_;
    bool free_ = false;
    std::thread::id test_thread_ = std::this_thread::get_id();
    // One worker, two queued jobs at most.
    transform::WorkerPool pool_{1, 2, 16};
};

TEST_F(TransformRunnerTest, AnEvictedJobResumesItsCoroutineWithBusyAndTheOthersRun) {
    block_worker();
    const transform::JobOwner heavy{"a", "10.0.0.1"};
    const transform::JobOwner light{"b", "10.0.0.2"};
    std::optional<IntResult> first, second, other;
    spawn(heavy, 1, first);
    spawn(heavy, 2, second);
    spawn(light, 3, other); // the queue is full: A's newest job gives B its place
    ASSERT_TRUE(run_until([&] { return second.has_value(); }));
    ASSERT_FALSE(*second);
    EXPECT_EQ(second->error().code, core::Errc::Busy);
    EXPECT_FALSE(first.has_value());
    EXPECT_FALSE(other.has_value());

    release();
    ASSERT_TRUE(run_until([&] { return first && other; }));
    ASSERT_TRUE(*first) << first->error().message;
    EXPECT_EQ(**first, 1);
    ASSERT_TRUE(*other) << other->error().message;
    EXPECT_EQ(**other, 3);
}

TEST_F(TransformRunnerTest, ACustomerOverItsShareIsAnsweredBusyAtOnce) {
    block_worker();
    const transform::JobOwner heavy{"a", "10.0.0.1"};
    std::optional<IntResult> first, second, third;
    spawn(heavy, 1, first);
    spawn(heavy, 2, second);
    spawn(heavy, 3, third); // alone and the queue full: its own job is refused
    ASSERT_TRUE(run_until([&] { return third.has_value(); }));
    ASSERT_FALSE(*third);
    EXPECT_EQ(third->error().code, core::Errc::Busy);
    release();
    ASSERT_TRUE(run_until([&] { return first && second; }));
    EXPECT_TRUE(*first && *second);
}

} // namespace
} // namespace cdn::edge
