#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cdn::cache {

/**
 * Coalesces concurrent misses (delivery.md: one fetch and transform per key however many
 * requests miss at once). The first caller for a key runs `work`; callers for the same key that
 * arrive while it runs, from any thread or executor, suspend without blocking a thread and each
 * receives a copy of the same T, resumed on its own coroutine's executor. When the work ends
 * the key is forgotten: a later call runs the work again.
 *
 * Failures: T is meant to be a core::Result carrying them. Should `work` throw anyway, every
 * caller of that flight gets the exception rethrown. Should the leader's coroutine be destroyed
 * before the work ends (shutdown), the waiters get a std::runtime_error; no caller hangs and the
 * key never stays stuck. A waiter is not cancellable: it waits for the flight's end.
 *
 * Thread-safe. T must be copy-constructible.
 */
template <class T> class SingleFlight {
public:
    using Work = std::function<boost::asio::awaitable<T>()>;

    /** Runs `work`, or joins the run already in progress for `key`; returns its value. */
    boost::asio::awaitable<T> run(std::string key, Work work) {
        auto [flight, leader] = join(key);
        if (!leader) {
            co_return co_await wait(std::move(flight));
        }
        Landing landing(*this, key, std::move(flight));
        std::exception_ptr failure;
        try {
            // Named, not a temporary inside the co_await expression (GCC 12 coroutine bugs).
            T value = co_await work();
            auto result = std::make_shared<const T>(std::move(value));
            landing.land(result, nullptr);
            co_return *result;
        } catch (...) {
            failure = std::current_exception();
        }
        landing.land(nullptr, failure);
        std::rethrow_exception(failure);
    }

    /** Keys with work in progress (for metrics and tests). */
    std::size_t in_flight() const {
        std::lock_guard lock(mutex_);
        return flights_.size();
    }

    /** Callers suspended on another caller's work (for metrics and tests). */
    std::size_t waiting() const {
        std::lock_guard lock(mutex_);
        return waiting_;
    }

private:
    using ResultPtr = std::shared_ptr<const T>;
    using Signature = void(std::exception_ptr, ResultPtr);
    /** Resumes one suspended caller, on its own executor, with the flight's outcome. */
    using Waiter = std::function<void(std::exception_ptr, ResultPtr)>;

    struct Flight {
        std::vector<Waiter> waiters;
        bool done = false;
        ResultPtr result;
        std::exception_ptr error;
    };
    using FlightPtr = std::shared_ptr<Flight>;

    struct Joined {
        FlightPtr flight;
        bool leader = false;
    };

    /** Ends the leader's flight exactly once: with its result, its exception, or, if the
     *  leader's frame is destroyed first, an error, so that waiters never hang. */
    class Landing {
    public:
        Landing(SingleFlight& owner, std::string key, FlightPtr flight)
            : owner_(owner), key_(std::move(key)), flight_(std::move(flight)) {}
        Landing(const Landing&) = delete;
        Landing& operator=(const Landing&) = delete;
        ~Landing() {
            if (flight_) {
                land(nullptr,
                     std::make_exception_ptr(std::runtime_error("single-flight work abandoned")));
            }
        }
        void land(ResultPtr result, std::exception_ptr error) {
            if (flight_) {
                owner_.land(key_, std::exchange(flight_, nullptr), std::move(result), error);
            }
        }

    private:
        SingleFlight& owner_;
        std::string key_;
        FlightPtr flight_;
    };

    Joined join(const std::string& key) {
        std::lock_guard lock(mutex_);
        auto& slot = flights_[key];
        if (slot) {
            return {slot, false};
        }
        slot = std::make_shared<Flight>();
        return {slot, true};
    }

    void land(const std::string& key, const FlightPtr& flight, ResultPtr result,
              std::exception_ptr error) {
        std::vector<Waiter> waiters;
        {
            std::lock_guard lock(mutex_);
            if (const auto it = flights_.find(key); it != flights_.end() && it->second == flight) {
                flights_.erase(it);
            }
            flight->done = true;
            flight->result = result;
            flight->error = error;
            waiters = std::move(flight->waiters);
            waiting_ -= waiters.size();
        }
        for (auto& waiter : waiters) {
            waiter(error, result);
        }
    }

    /** `flight` (this frame's parameter) keeps the flight alive while the caller waits. */
    boost::asio::awaitable<T> wait(FlightPtr flight) {
        // The initiation captures only raw pointers: GCC 12 may destroy the by-value
        // initiation inside Asio's use_awaitable frame twice, harmless only when trivial.
        auto initiation = [this, raw = flight.get()](auto handler) {
            enqueue(*raw, make_waiter(std::move(handler)));
        };
        static_assert(std::is_trivially_destructible_v<decltype(initiation)>);
        auto result =
            co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), Signature>(
                initiation, boost::asio::use_awaitable);
        co_return *result;
    }

    void enqueue(Flight& flight, Waiter waiter) {
        std::unique_lock lock(mutex_);
        if (flight.done) {
            // It landed between our join and now: answer at once.
            lock.unlock();
            waiter(flight.error, flight.result);
            return;
        }
        flight.waiters.push_back(std::move(waiter));
        ++waiting_;
    }

    /** Wraps a (move-only) completion handler; the work guard keeps its executor's context
     *  running while the caller waits, even if nothing else is pending there. */
    template <class Handler> static Waiter make_waiter(Handler handler) {
        auto executor = boost::asio::get_associated_executor(handler);
        auto shared = std::make_shared<Handler>(std::move(handler));
        auto guard = std::make_shared<decltype(boost::asio::make_work_guard(executor))>(
            boost::asio::make_work_guard(executor));
        return [shared, guard, executor](std::exception_ptr error, ResultPtr result) {
            boost::asio::post(executor, [shared, error, result = std::move(result)]() mutable {
                (*shared)(error, std::move(result));
            });
            guard->reset();
        };
    }

    mutable std::mutex mutex_;
    std::unordered_map<std::string, FlightPtr> flights_;
    std::size_t waiting_ = 0;
};

} // namespace cdn::cache
