#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/**
 * Up to `max` connections of one backend (internal to db/), opened lazily as
 * concurrency grows. A caller finding all busy waits up to `wait` (or its own
 * deadline, if sooner), then gets Errc::Unavailable. A connection comes back
 * through Connection::rollback() (true: usable again); one that cannot be reset
 * is closed, and so is an idle one whose server went away meanwhile
 * (Connection::healthy(), when it has one), so the pool reconnects by itself,
 * with the next caller, instead of handing out a broken session.
 */
template <class Connection>
class ConnectionPool {
public:
    using Clock = std::chrono::steady_clock;
    /** Opens a connection, giving up at the deadline. */
    using Opener = std::function<core::Result<std::unique_ptr<Connection>>(Clock::time_point)>;

    /** A pooled connection, handed back to the pool on destruction. */
    class Lease {
    public:
        Lease(ConnectionPool& pool, std::unique_ptr<Connection> connection)
            : pool_(&pool), connection_(std::move(connection)) {}
        Lease(Lease&& other) noexcept = default;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (connection_) {
                pool_->release(std::move(connection_));
            }
        }

        Connection* operator->() const { return connection_.get(); }
        Connection& operator*() const { return *connection_; }

    private:
        ConnectionPool* pool_;
        std::unique_ptr<Connection> connection_;
    };

    ConnectionPool(std::string engine, std::size_t max, std::chrono::milliseconds wait,
                   Opener open, std::unique_ptr<Connection> first)
        : engine_(std::move(engine)), max_(max), wait_(wait), open_connection_(std::move(open)) {
        // Reserved so that release() never allocates and can stay noexcept.
        idle_.reserve(max_);
        if (first) {
            idle_.push_back(std::move(first));
            open_ = 1;
        }
    }

    core::Result<Lease> acquire() { return acquire(Clock::now() + wait_); }

    /** A connection by `deadline`: an idle one that is still healthy, else a new one. */
    core::Result<Lease> acquire(Clock::time_point deadline) {
        std::unique_lock lock(mutex_);
        const auto until = std::min(deadline, Clock::now() + wait_);
        const bool ready =
            available_.wait_until(lock, until, [this] { return !idle_.empty() || open_ < max_; });
        if (!ready) {
            return database_error(core::Errc::Unavailable,
                                  "all " + std::to_string(max_) + " " + engine_ +
                                      " connections stayed busy for " +
                                      std::to_string(wait_.count()) + " ms");
        }
        std::unique_ptr<Connection> connection;
        if (!idle_.empty()) {
            connection = std::move(idle_.back());
            idle_.pop_back();
        } else {
            ++open_;
        }
        lock.unlock();
        if (connection && healthy(*connection)) {
            return Lease(*this, std::move(connection));
        }
        // Opening touches the file system or the network, so it happens outside the lock; a broken
        // idle connection's slot goes to its replacement.
        connection.reset();
        auto opened = open_connection_(deadline);
        if (!opened) {
            forget_one();
            return opened.error();
        }
        return Lease(*this, std::move(*opened));
    }

private:
    void release(std::unique_ptr<Connection> connection) noexcept {
        // A transaction left open (only possible after a failed ROLLBACK) or a broken session
        // must not leak into the next caller's statements: drop that connection instead.
        if (!connection->rollback()) {
            connection.reset();
            forget_one();
            return;
        }
        {
            std::lock_guard lock(mutex_);
            idle_.push_back(std::move(connection));
        }
        available_.notify_one();
    }

    static bool healthy(Connection& connection) {
        if constexpr (requires { connection.healthy(); }) {
            return connection.healthy();
        } else {
            return true;
        }
    }

    void forget_one() noexcept {
        {
            std::lock_guard lock(mutex_);
            --open_;
        }
        available_.notify_one();
    }

    std::string engine_;
    std::size_t max_;
    std::chrono::milliseconds wait_;
    Opener open_connection_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t open_ = 0;
};

} // namespace cdn::db
