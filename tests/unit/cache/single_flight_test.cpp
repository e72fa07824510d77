#include "cache/single_flight.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "poll_until.h"

namespace cdn::cache {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

constexpr auto TIMEOUT = 10s;

/** An io_context run by `threads` threads until the test ends. */
class Runner {
public:
    explicit Runner(int threads) : guard_(net::make_work_guard(context_)) {
        for (int i = 0; i < threads; ++i) {
            threads_.emplace_back([this] { context_.run(); });
        }
    }
    ~Runner() { stop(); }
    void stop() {
        guard_.reset();
        context_.stop();
        for (auto& thread : threads_) {
            if (thread.joinable()) {
                thread.join();
            }
        }
    }
    net::io_context& context() { return context_; }

private:
    net::io_context context_;
    net::executor_work_guard<net::io_context::executor_type> guard_;
    std::vector<std::thread> threads_;
};

/** Suspends (without blocking a thread) until `done()` holds. */
template <class Predicate> net::awaitable<void> until(Predicate done) {
    net::steady_timer timer(co_await net::this_coro::executor);
    while (!done()) {
        timer.expires_after(1ms);
        co_await timer.async_wait(net::use_awaitable);
    }
}

/** Polls from the test's thread until `done()` holds; false after TIMEOUT. */
template <class Predicate> bool until_true(Predicate done) {
    return test::poll_until(done, TIMEOUT, 1ms);
}

/** Counts completions of co_spawned callers and lets the test wait for all of them. */
class Completions {
public:
    explicit Completions(int expected) : expected_(expected) {}
    auto handler() {
        return [this](std::exception_ptr error) {
            if (error) {
                failures_.fetch_add(1);
            }
            if (done_.fetch_add(1) + 1 == expected_) {
                all_.set_value();
            }
        };
    }
    bool wait() { return all_.get_future().wait_for(TIMEOUT) == std::future_status::ready; }
    int failures() const { return failures_.load(); }

private:
    int expected_;
    std::atomic<int> done_{0};
    std::atomic<int> failures_{0};
    std::promise<void> all_;
};

TEST(SingleFlightTest, ConcurrentCallersForOneKeyShareOneRun) {
    constexpr int CALLERS = 50;
    Runner runner(4);
    SingleFlight<std::string> flights;
    std::atomic<int> runs{0};
    std::vector<std::string> results(CALLERS);
    Completions completions(CALLERS);

    auto caller = [&](int i) -> net::awaitable<void> {
        SingleFlight<std::string>::Work work = [&]() -> net::awaitable<std::string> {
            runs.fetch_add(1);
            // Hold the flight open until every other caller waits on it.
            co_await until([&] { return flights.waiting() == CALLERS - 1; });
            co_return std::string("variant bytes");
        };
        std::string key = "imagecdn:pk:a.jpg:h";
        results[static_cast<std::size_t>(i)] =
            co_await flights.run(std::move(key), std::move(work));
    };
    for (int i = 0; i < CALLERS; ++i) {
        net::co_spawn(runner.context(), caller(i), completions.handler());
    }

    ASSERT_TRUE(completions.wait());
    EXPECT_EQ(completions.failures(), 0);
    EXPECT_EQ(runs.load(), 1);
    for (const auto& result : results) {
        EXPECT_EQ(result, "variant bytes");
    }
    EXPECT_EQ(flights.in_flight(), 0u);
    EXPECT_EQ(flights.waiting(), 0u);
}

TEST(SingleFlightTest, DifferentKeysRunSeparately) {
    constexpr int PER_KEY = 10;
    Runner runner(4);
    SingleFlight<int> flights;
    std::atomic<int> runs{0};
    std::atomic<int> wrong{0};
    std::atomic<bool> released{false};
    Completions completions(2 * PER_KEY);

    auto caller = [&](int which) -> net::awaitable<void> {
        SingleFlight<int>::Work work = [&, which]() -> net::awaitable<int> {
            runs.fetch_add(1);
            // Both flights stay open until every caller has joined one; the first leader to
            // see that releases both (the counts drop as soon as one lands).
            co_await until([&] {
                if (flights.in_flight() == 2 && flights.waiting() == 2 * (PER_KEY - 1)) {
                    released = true;
                }
                return released.load();
            });
            co_return which;
        };
        std::string key = "key" + std::to_string(which);
        if (co_await flights.run(std::move(key), std::move(work)) != which) {
            wrong.fetch_add(1);
        }
    };
    for (int i = 0; i < PER_KEY; ++i) {
        net::co_spawn(runner.context(), caller(0), completions.handler());
        net::co_spawn(runner.context(), caller(1), completions.handler());
    }

    ASSERT_TRUE(completions.wait());
    EXPECT_EQ(completions.failures(), 0);
    EXPECT_EQ(runs.load(), 2);
    EXPECT_EQ(wrong.load(), 0);
}

TEST(SingleFlightTest, AFinishedKeyIsForgottenAndRunsAgain) {
    Runner runner(1);
    SingleFlight<int> flights;
    int runs = 0;
    std::vector<int> results;
    auto twice = [&]() -> net::awaitable<void> {
        for (int i = 0; i < 2; ++i) {
            SingleFlight<int>::Work work = [&]() -> net::awaitable<int> { co_return ++runs; };
            std::string key = "key";
            results.push_back(co_await flights.run(std::move(key), std::move(work)));
        }
    };
    auto done = net::co_spawn(runner.context(), twice(), net::use_future);
    ASSERT_EQ(done.wait_for(TIMEOUT), std::future_status::ready);
    done.get();
    EXPECT_EQ(results, (std::vector<int>{1, 2}));
    EXPECT_EQ(flights.in_flight(), 0u);
}

TEST(SingleFlightTest, AnExceptionFromTheWorkReachesEveryCallerAndFreesTheKey) {
    constexpr int CALLERS = 10;
    Runner runner(4);
    SingleFlight<int> flights;
    std::atomic<int> runs{0};
    Completions completions(CALLERS);

    auto caller = [&]() -> net::awaitable<void> {
        SingleFlight<int>::Work work = [&]() -> net::awaitable<int> {
            runs.fetch_add(1);
            co_await until([&] { return flights.waiting() == CALLERS - 1; });
            throw std::runtime_error("origin exploded");
        };
        std::string key = "key";
        co_await flights.run(std::move(key), std::move(work));
    };
    for (int i = 0; i < CALLERS; ++i) {
        net::co_spawn(runner.context(), caller(), completions.handler());
    }

    ASSERT_TRUE(completions.wait());
    EXPECT_EQ(completions.failures(), CALLERS);
    EXPECT_EQ(runs.load(), 1);
    EXPECT_EQ(flights.in_flight(), 0u);
}

// The waiter's own context has nothing else to do: without the flight keeping it busy, its
// run() would return and the waiter would never resume.
TEST(SingleFlightTest, AWaiterOnAnotherContextResumesOnItsOwnThread) {
    Runner leader_side(1);
    net::io_context waiter_context;
    SingleFlight<int> flights;

    SingleFlight<int>::Work slow = [&]() -> net::awaitable<int> {
        co_await until([&] { return flights.waiting() == 1; });
        co_return 7;
    };
    auto lead = [&]() -> net::awaitable<int> {
        std::string key = "key";
        co_return co_await flights.run(std::move(key), slow);
    };
    auto led = net::co_spawn(leader_side.context(), lead(), net::use_future);
    ASSERT_TRUE(until_true([&] { return flights.in_flight() == 1; }));

    std::optional<int> got;
    bool on_own_thread = false;
    auto wait = [&]() -> net::awaitable<void> {
        SingleFlight<int>::Work never = []() -> net::awaitable<int> {
            ADD_FAILURE() << "a second run for a key in flight";
            co_return -1;
        };
        std::string key = "key";
        got = co_await flights.run(std::move(key), std::move(never));
        on_own_thread = waiter_context.get_executor().running_in_this_thread();
    };
    net::co_spawn(waiter_context, wait(), net::detached);
    std::thread waiter_thread([&] { waiter_context.run(); });
    waiter_thread.join();

    EXPECT_EQ(got, 7);
    EXPECT_TRUE(on_own_thread);
    ASSERT_EQ(led.wait_for(TIMEOUT), std::future_status::ready);
    EXPECT_EQ(led.get(), 7);
}

// At shutdown the leader's frame is destroyed mid-work: its waiters must not hang.
TEST(SingleFlightTest, WaitersOfAnAbandonedFlightGetAnError) {
    auto leader_side = std::make_unique<Runner>(1);
    Runner waiter_side(1);
    SingleFlight<int> flights;

    SingleFlight<int>::Work forever = [&]() -> net::awaitable<int> {
        net::steady_timer timer(co_await net::this_coro::executor, std::chrono::hours(1));
        co_await timer.async_wait(net::use_awaitable);
        co_return 1;
    };
    auto lead = [&]() -> net::awaitable<void> {
        std::string key = "key";
        co_await flights.run(std::move(key), forever);
    };
    net::co_spawn(leader_side->context(), lead(), net::detached);
    ASSERT_TRUE(until_true([&] { return flights.in_flight() == 1; }));

    auto wait = [&]() -> net::awaitable<void> {
        SingleFlight<int>::Work unused = []() -> net::awaitable<int> { co_return -1; };
        std::string key = "key";
        co_await flights.run(std::move(key), std::move(unused));
    };
    auto waited = net::co_spawn(waiter_side.context(), wait(), net::use_future);
    ASSERT_TRUE(until_true([&] { return flights.waiting() == 1; }));

    leader_side.reset(); // stops and destroys the context, and with it the leader's frame
    ASSERT_EQ(waited.wait_for(TIMEOUT), std::future_status::ready);
    EXPECT_THROW(waited.get(), std::runtime_error);
    EXPECT_EQ(flights.in_flight(), 0u);
    EXPECT_EQ(flights.waiting(), 0u);
}

} // namespace
} // namespace cdn::cache
