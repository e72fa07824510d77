#pragma once

#include <chrono>
#include <thread>

// How tests wait. A test never sleeps to let something happen: it polls the observable
// condition (a status, a metric, a row, a log line, a child's exit) with poll_until and a
// deadline, so it is as fast as the machine allows and fails with a message instead of flaking
// when the machine is slow. The only sleeps left are this loop's own back-off, pacing that *is*
// the load under test (a client sending at a set rate), and waiting for the real clock where
// the binary under test reads it (a unix-minute rate window). Code that takes a `core::Clock`
// is tested with `test::FakeClock` instead. No test asserts an elapsed wall-clock bound tighter
// than 5 s: speed claims belong to bench/; tests assert behaviour (what was answered, counted,
// or how much CPU work was done).

namespace cdn::test {

/** Calls `done` until it returns true or `timeout` passes; its last answer. For effects that
 *  land asynchronously (a signal the server handles, a batch it flushes): no fixed sleeps.
 *  `interval` is the back-off between calls (longer for a costly `done`). */
template <class Predicate>
bool poll_until(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                std::chrono::milliseconds interval = std::chrono::milliseconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return done();
        }
        std::this_thread::sleep_for(interval);
    }
    return true;
}

} // namespace cdn::test
