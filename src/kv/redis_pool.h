#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "core/result.h"
#include "kv/redis_connection.h"

namespace cdn::kv {

/**
 * A few command connections, opened on demand. Why a pool and not one connection behind a
 * mutex: callers come from several threads (API handlers on the blocking pool, the rate
 * limiter's reconciliation), and behind one mutex a caller would wait for every call queued
 * before it, each up to the timeout, so no call would be bounded by the timeout. Here a caller
 * waits at most `timeout` for a free connection and at most `timeout` per read or write on it.
 */
class RedisPool {
public:
    RedisPool(RedisEndpoint endpoint, std::chrono::milliseconds timeout, std::size_t size);

    /** Runs the commands as one pipeline on a pooled connection; the replies in order. A
     *  connection that failed is closed, not returned to the pool. Errors: Errc::Unavailable. */
    core::Result<std::vector<ReplyPtr>> pipeline(const std::vector<Command>& commands);
    /** Closes the idle connections (after a failure: they may be dead too). */
    void close_idle();

private:
    core::Result<std::unique_ptr<RedisConnection>> take();
    void give_back(std::unique_ptr<RedisConnection> connection);

    RedisEndpoint endpoint_;
    std::chrono::milliseconds timeout_;
    std::size_t size_;
    std::mutex mutex_;
    std::condition_variable returned_;
    std::vector<std::unique_ptr<RedisConnection>> idle_; // guarded by mutex_
    std::size_t open_ = 0;                                // guarded by mutex_, idle or lent
};

} // namespace cdn::kv
