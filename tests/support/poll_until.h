#pragma once

#include <chrono>
#include <thread>

namespace cdn::test {

/** Calls `done` until it returns true or `timeout` passes; its last answer. For effects that
 *  land asynchronously (a signal the server handles, a batch it flushes): no fixed sleeps. */
template <class Predicate>
bool poll_until(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return done();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

} // namespace cdn::test
