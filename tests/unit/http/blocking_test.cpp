#include "http/blocking.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace cdn::http {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

template <class T> T run(net::io_context& io, net::awaitable<T> awaitable) {
    auto future = net::co_spawn(io, std::move(awaitable), net::use_future);
    io.run();
    return future.get();
}

TEST(RunBlocking, ReturnsTheCallsValueOnTheCallersThread) {
    net::thread_pool pool(1);
    net::io_context io;
    const auto caller = std::this_thread::get_id();
    auto call = [&]() -> net::awaitable<bool> {
        auto on_pool = [caller] { return std::this_thread::get_id() != caller; };
        const bool ran_elsewhere = co_await run_blocking(pool, std::move(on_pool));
        co_return ran_elsewhere && std::this_thread::get_id() == caller;
    };
    EXPECT_TRUE(run(io, call()));
}

TEST(RunBlocking, RunsAVoidCallAndPassesOnAnException) {
    net::thread_pool pool(1);
    net::io_context io;
    auto call = [&]() -> net::awaitable<std::string> {
        int calls = 0;
        auto count = [&calls] { ++calls; };
        co_await run_blocking(pool, std::move(count));
        auto fail = []() -> int { throw std::runtime_error("failed on the pool"); };
        try {
            co_await run_blocking(pool, std::move(fail));
        } catch (const std::runtime_error& e) {
            co_return std::to_string(calls) + " " + e.what();
        }
        co_return "no exception";
    };
    EXPECT_EQ(run(io, call()), "1 failed on the pool");
}

// A finished call resumes its caller at once, not behind the work queued on the pool since it
// started. (co_spawn posted the completion back to the pool first: a burst of reads on the
// blocking threads then kept every finished read waiting for all later ones.)
TEST(RunBlocking, ResumesTheCallerWithoutWaitingForWorkQueuedBehindIt) {
    net::thread_pool pool(1);
    net::io_context io;
    auto resumed = std::make_shared<std::promise<void>>();
    std::future<bool> queued_saw_resume;
    auto call = [&]() -> net::awaitable<void> {
        auto queue_a_waiter = [&] {
            // Queued behind this call on the pool's only thread: it waits (up to 10 s) for the
            // caller to be resumed.
            auto saw = std::make_shared<std::promise<bool>>();
            queued_saw_resume = saw->get_future();
            net::post(pool, [saw, done = resumed->get_future()] {
                saw->set_value(done.wait_for(10s) == std::future_status::ready);
            });
        };
        co_await run_blocking(pool, std::move(queue_a_waiter));
        resumed->set_value();
    };
    run(io, call());
    EXPECT_TRUE(queued_saw_resume.get()) << "the caller was resumed only after the queued work";
}

} // namespace
} // namespace cdn::http
