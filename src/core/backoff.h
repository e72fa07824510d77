#pragma once

#include <chrono>
#include <random>

namespace cdn::core {

/**
 * Delays between attempts at something that failed: `first` doubling up to `cap`, each drawn
 * from [½, 1] of that ("equal jitter"), so callers that failed together (nodes restarted at once,
 * transactions that collided) do not try again in lockstep, yet every wait keeps a floor.
 * One per retry loop; not thread-safe.
 */
class Backoff {
public:
    Backoff(std::chrono::milliseconds first, std::chrono::milliseconds cap)
        : first_(first), cap_(cap) {}

    /** The delay before the next attempt. */
    std::chrono::milliseconds next();
    /** After a success: the next failure starts again from `first`. */
    void reset() { doublings_ = 0; }

private:
    std::chrono::milliseconds first_;
    std::chrono::milliseconds cap_;
    int doublings_ = 0;
    std::minstd_rand random_{std::random_device{}()};
};

} // namespace cdn::core
