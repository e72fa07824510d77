#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>

namespace cdn::http {

/** Runs a blocking call (database, file system) on `pool` and resumes the calling coroutine on
 *  its own executor afterwards, so the I/O threads never block. */
template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> run_blocking(boost::asio::thread_pool& pool,
                                                              Fn fn) {
    using T = std::invoke_result_t<Fn>;
    co_return co_await boost::asio::co_spawn(
        pool, [fn = std::move(fn)]() mutable -> boost::asio::awaitable<T> { co_return fn(); },
        boost::asio::use_awaitable);
}

} // namespace cdn::http
