#include "kv/redis_pool.h"

namespace cdn::kv {

RedisPool::RedisPool(RedisEndpoint endpoint, std::chrono::milliseconds timeout, std::size_t size)
    : endpoint_(std::move(endpoint)), timeout_(timeout), size_(std::max<std::size_t>(size, 1)) {}

core::Result<std::vector<ReplyPtr>> RedisPool::pipeline(const std::vector<Command>& commands) {
    CDN_TRY(connection, take());
    auto replies = connection->pipeline(commands);
    give_back(std::move(connection));
    return replies;
}

core::Result<std::unique_ptr<RedisConnection>> RedisPool::take() {
    {
        std::unique_lock lock(mutex_);
        const bool free = returned_.wait_for(
            lock, timeout_, [this] { return !idle_.empty() || open_ < size_; });
        if (!free) {
            return core::make_error(core::Errc::Unavailable, "redis unavailable",
                                    "every pooled connection stayed busy for the timeout");
        }
        if (!idle_.empty()) {
            auto connection = std::move(idle_.back());
            idle_.pop_back();
            return connection;
        }
        ++open_; // reserved: opened below, outside the lock
    }
    auto opened = RedisConnection::open(endpoint_, timeout_);
    if (!opened) {
        give_back(nullptr);
    }
    return opened;
}

void RedisPool::give_back(std::unique_ptr<RedisConnection> connection) {
    {
        const std::lock_guard lock(mutex_);
        if (connection && !connection->broken()) {
            idle_.push_back(std::move(connection));
        } else {
            --open_;
        }
    }
    returned_.notify_one();
}

void RedisPool::close_idle() {
    std::vector<std::unique_ptr<RedisConnection>> closing;
    {
        const std::lock_guard lock(mutex_);
        open_ -= idle_.size();
        closing.swap(idle_);
    }
    returned_.notify_all();
}

} // namespace cdn::kv
