#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace cdn::cache {

/**
 * Coalesces concurrent misses: the first caller for a key runs `work`; callers for the same
 * key that arrive while it runs suspend (no thread blocks) and receive a copy of its result.
 * The key is forgotten when the work completes. `work` must not throw: T is expected to be a
 * Result carrying any failure.
 */
template <class T>
class SingleFlight {
public:
    using Work = std::function<boost::asio::awaitable<T>()>;

    boost::asio::awaitable<T> run(std::string key, Work work) {
        std::shared_ptr<Flight> flight;
        bool leader = false;
        {
            std::lock_guard lock(mutex_);
            auto& slot = flights_[key];
            if (!slot) {
                slot = std::make_shared<Flight>();
                leader = true;
            }
            flight = slot;
        }
        if (!leader) {
            co_return co_await wait(flight);
        }
        T result = co_await work();
        std::vector<Waiter> waiters;
        {
            std::lock_guard lock(mutex_);
            flights_.erase(key);
            waiters = std::move(flight->waiters);
            flight->result = std::make_shared<const T>(result);
        }
        for (auto& waiter : waiters) {
            waiter(result);
        }
        co_return result;
    }

    /** Keys with work in progress (for metrics and tests). */
    std::size_t in_flight() const {
        std::lock_guard lock(mutex_);
        return flights_.size();
    }

private:
    /** Resumes one waiting coroutine on its own executor with a copy of the result. */
    using Waiter = std::function<void(T)>;

    template <class Handler>
    static Waiter make_waiter(Handler handler) {
        auto shared = std::make_shared<Handler>(std::move(handler));
        auto executor = boost::asio::get_associated_executor(*shared);
        return [shared, executor](T result) {
            boost::asio::post(executor, [shared, r = std::move(result)]() mutable {
                (*shared)(std::move(r));
            });
        };
    }

    struct Flight {
        std::vector<Waiter> waiters;
        std::shared_ptr<const T> result; // set once the work is done
    };

    boost::asio::awaitable<T> wait(std::shared_ptr<Flight> flight) {
        co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(T)>(
            [this, flight](auto handler) {
                auto waiter = make_waiter(std::move(handler));
                std::unique_lock lock(mutex_);
                if (flight->result) {
                    // Finished between our lookup and now: answer at once.
                    auto result = *flight->result;
                    lock.unlock();
                    waiter(std::move(result));
                    return;
                }
                flight->waiters.push_back(std::move(waiter));
            },
            boost::asio::use_awaitable);
    }

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

} // namespace cdn::cache
