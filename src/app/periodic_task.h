#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>

namespace cdn::app {

/** Runs `task` on its own thread every `interval` (first run after one interval) until
 *  destroyed; destruction wakes the thread and waits for a run in progress to finish. */
class PeriodicTask {
public:
    PeriodicTask(std::chrono::milliseconds interval, std::function<void()> task)
        : thread_([this, interval, task = std::move(task)](std::stop_token stop) {
              std::unique_lock lock(mutex_);
              // wait_for returns early (with the predicate's false) when stop is requested.
              while (!wakeup_.wait_for(lock, stop, interval, [] { return false; }) &&
                     !stop.stop_requested()) {
                  lock.unlock();
                  task();
                  lock.lock();
              }
          }) {}

    PeriodicTask(const PeriodicTask&) = delete;
    PeriodicTask& operator=(const PeriodicTask&) = delete;

private:
    std::mutex mutex_;
    std::condition_variable_any wakeup_;
    std::jthread thread_; // last: joined before the members it uses are destroyed
};

} // namespace cdn::app
