#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace cdn::http {

/**
 * [server] min_bytes_per_second over fixed 5 s windows: a window that ends with fewer bytes
 * than the rate asks for cuts the transfer. The server measures only while it waits for bytes
 * it was promised (the rest of a head, a body); a head that arrives in one read is never
 * measured. Time is passed in, so tests need no clock.
 */
class RateWindow {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds WINDOW{5};

    /** `bytes_per_second` 0 turns the check off. */
    RateWindow(std::uint64_t bytes_per_second, Clock::time_point start)
        : required_(bytes_per_second * WINDOW.count()), window_start_(start) {}

    /** When the next read must have completed: `phase_end`, or sooner the end of the first
     *  window that would otherwise end short (the current one, or the next when the current
     *  one already has its bytes). A read still pending then is too slow. */
    Clock::time_point deadline(Clock::time_point phase_end) const {
        if (required_ == 0) {
            return phase_end;
        }
        auto end = window_start_ + WINDOW;
        if (bytes_ >= required_) {
            end += WINDOW;
        }
        return std::min(phase_end, end);
    }

    /** Counts `n` bytes received at `now`; false when a window ended short before they came. */
    bool add(std::uint64_t n, Clock::time_point now) {
        while (required_ != 0 && now >= window_start_ + WINDOW) {
            if (bytes_ < required_) {
                return false;
            }
            window_start_ += WINDOW;
            bytes_ = 0;
        }
        bytes_ += n;
        return true;
    }

private:
    std::uint64_t required_;
    Clock::time_point window_start_;
    std::uint64_t bytes_ = 0;
};

} // namespace cdn::http
