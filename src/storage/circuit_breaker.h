#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cdn::storage {

/**
 * Closed → open → half open, for a dependency that can hang (the S3 store): after `failures`
 * outcomes in a row found it down, allow() says no for `cooldown`, so that callers fail at once
 * instead of each holding a thread for its timeouts. Then exactly one caller is let through (the
 * probe) while the others still get no; the probe's record() closes the breaker (an answer) or
 * opens it for another cool-down (down again). A probe that never records leaves the breaker
 * open until the next cool-down ends, when another probe goes. Lock-free; times are steady
 * milliseconds passed in, so that tests need no clock.
 */
class CircuitBreaker {
public:
    CircuitBreaker(int failures, std::chrono::milliseconds cooldown)
        : failures_(failures), cooldown_ms_(cooldown.count()) {}

    /** Whether a request may go now. */
    bool allow(std::int64_t now_ms);
    /** What a request that went found: `down` (no answer, 5xx, 429, after its retries) or not. */
    void record(bool down, std::int64_t now_ms);
    /** True while open or probing. */
    bool open() const { return open_until_ms_.load() != 0; }

private:
    const int failures_;
    const std::int64_t cooldown_ms_;
    std::atomic<int> failures_in_a_row_{0};
    /** Until when requests are refused; 0 when closed. */
    std::atomic<std::int64_t> open_until_ms_{0};
};

} // namespace cdn::storage
