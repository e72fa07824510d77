#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>
#include <memory>

#include "core/result.h"
#include "transform/worker_pool.h"

namespace cdn::edge {

/**
 * Runs `job` on a transform worker and resumes the awaiting coroutine on its own executor with
 * the result; a full queue answers 503 busy at once. The I/O thread never waits for libvips.
 */
template <class T>
boost::asio::awaitable<core::Result<T>> run_on_workers(transform::WorkerPool& pool,
                                                       std::function<core::Result<T>()> job) {
    namespace net = boost::asio;
    co_return co_await net::async_initiate<const net::use_awaitable_t<>, void(core::Result<T>)>(
        [&pool](auto handler, std::function<core::Result<T>()> work) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            auto executor = net::get_associated_executor(*shared);
            const bool queued = pool.try_submit([shared, executor, work = std::move(work)] {
                auto result = work();
                net::post(executor, [shared, result = std::move(result)]() mutable {
                    (*shared)(std::move(result));
                });
            });
            if (!queued) {
                net::post(executor, [shared] {
                    (*shared)(core::Result<T>(core::make_error(
                        core::Errc::Busy, "too many transforms are waiting; retry shortly")));
                });
            }
        },
        net::use_awaitable, std::move(job));
}

} // namespace cdn::edge
