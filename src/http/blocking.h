#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace cdn::http {

namespace detail {

/** `fn()` on `pool`, resumed on the caller's executor; `fn` returns a value. */
template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> call_on(boost::asio::thread_pool& pool, Fn fn) {
    using Value = std::invoke_result_t<Fn>;
    using Signature = void(std::exception_ptr, std::optional<Value>);
    auto initiate = [&pool](auto handler, Fn call) {
        // The caller's executor keeps counting this call as work until it is resumed.
        auto work = boost::asio::make_work_guard(handler);
        boost::asio::post(pool, [handler = std::move(handler), work = std::move(work),
                                 call = std::move(call)]() mutable {
            std::exception_ptr error;
            std::optional<Value> value;
            try {
                value.emplace(call());
            } catch (...) {
                error = std::current_exception();
            }
            auto resume = [handler = std::move(handler), error,
                           value = std::move(value)]() mutable {
                std::move(handler)(error, std::move(value));
            };
            boost::asio::dispatch(work.get_executor(), std::move(resume));
        });
    };
    auto value = co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                                      Signature>(
        std::move(initiate), boost::asio::use_awaitable, std::move(fn));
    co_return std::move(*value);
}

} // namespace detail

/**
 * Runs a blocking call (database, file system) on `pool` and resumes the calling coroutine on
 * its own executor afterwards, so the I/O threads never block.
 *
 * Hand-written instead of `co_spawn(pool, ...)`: when a co_spawned coroutine ends without having
 * switched threads, Asio first posts its completion back to the pool it ran on, behind every call
 * queued there since. A burst of misses on large originals queued reads on the blocking threads,
 * and each finished read then waited for all the later ones: 14 originals of 94 MB sat read and
 * unused for a second (docs/perf.md "Memory under a flood of misses on one very large
 * original"). Here the result goes straight to the caller's executor.
 */
template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> run_blocking(boost::asio::thread_pool& pool,
                                                              Fn fn) {
    if constexpr (std::is_void_v<std::invoke_result_t<Fn>>) {
        auto call = [fn = std::move(fn)]() mutable {
            fn();
            return true;
        };
        co_await detail::call_on(pool, std::move(call));
    } else {
        co_return co_await detail::call_on(pool, std::move(fn));
    }
}

} // namespace cdn::http
