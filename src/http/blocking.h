#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>

namespace cdn::http {

namespace detail {
// A coroutine taking `fn` as a parameter, so that it lives in the coroutine frame. (A lambda
// coroutine's captures live in the lambda object, which co_spawn destroys too early.)
template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> call(Fn fn) {
    co_return fn();
}
} // namespace detail

/** Runs a blocking call (database, file system) on `pool` and resumes the calling coroutine on
 *  its own executor afterwards, so the I/O threads never block. */
template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> run_blocking(boost::asio::thread_pool& pool,
                                                              Fn fn) {
    co_return co_await boost::asio::co_spawn(pool, detail::call(std::move(fn)),
                                             boost::asio::use_awaitable);
}

} // namespace cdn::http
