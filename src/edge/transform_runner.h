#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>
#include <memory>
#include <optional>

#include "core/result.h"
#include "transform/worker_pool.h"

namespace cdn::edge {

/** 503 busy (delivery adds `Retry-After`) for a transform the pool will not run: refused
 *  because of this customer's own jobs (its queue full, or evicted as the heaviest), or not. */
inline core::Error transform_refused(bool because_of_this_site) {
    return core::make_error(core::Errc::Busy,
                            because_of_this_site
                                ? "too many transforms of this site are waiting; retry shortly"
                                : "too many transforms are waiting; retry shortly");
}

/**
 * Runs `job` on a transform worker, in `owner`'s fair share of them, and resumes the awaiting
 * coroutine on its own executor with the result; `place`, when held, is the job's queue place
 * (WorkerPool::reserve). A job refused at once, or evicted from the queue later by a lighter
 * customer's, answers 503 busy. The I/O thread never waits for libvips.
 */
template <class T>
boost::asio::awaitable<core::Result<T>> run_on_workers(transform::WorkerPool& pool,
                                                       const transform::JobOwner& owner,
                                                       std::function<core::Result<T>()> job,
                                                       transform::Reservation* place = nullptr) {
    namespace net = boost::asio;
    co_return co_await net::async_initiate<const net::use_awaitable_t<>, void(core::Result<T>)>(
        [&pool, &owner, place](auto handler, std::function<core::Result<T>()> work) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            auto answer = [shared, executor = net::get_associated_executor(*shared)](
                              core::Result<T> result) {
                net::post(executor, [shared, result = std::move(result)]() mutable {
                    (*shared)(std::move(result));
                });
            };
            // Evicted: a lighter customer or client took its place in the queue.
            auto evicted = [answer] { answer(transform_refused(true)); };
            // Answered once the pool no longer counts the job (Job::finished).
            auto result = std::make_shared<std::optional<core::Result<T>>>();
            const auto admission = pool.try_submit(
                owner,
                transform::Job{.run = [result, work = std::move(work)] { result->emplace(work()); },
                               .evicted = std::move(evicted),
                               .finished = [answer, result] { answer(std::move(**result)); }},
                place);
            if (admission != transform::Admission::Queued) {
                answer(transform_refused(admission == transform::Admission::CustomerQueueFull));
            }
        },
        net::use_awaitable, std::move(job));
}

} // namespace cdn::edge
