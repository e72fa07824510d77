#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cdn::transform {

/**
 * The transform workers: a fixed set of threads, apart from the HTTP I/O threads, each running
 * one image at a time with one libvips thread, behind a bounded queue. One image per core is
 * the throughput optimum (docs/perf.md); a full queue is refused at once (503 busy) instead
 * of growing latency without bound.
 */
class WorkerPool {
public:
    WorkerPool(unsigned workers, std::size_t queue_limit);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /** Finishes queued and running jobs and joins the threads; later submits are refused.
     *  Call while whatever the jobs report to is still alive. Idempotent. */
    void shutdown();

    /** Queues a job; false when the queue is full. The job ends its libvips work itself. */
    bool try_submit(std::function<void()> job);

    std::size_t queued() const;
    std::size_t running() const;
    unsigned workers() const { return static_cast<unsigned>(threads_.size()); }

private:
    void work();

    std::size_t queue_limit_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    std::size_t running_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

} // namespace cdn::transform
