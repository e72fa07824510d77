#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/clock.h"

namespace cdn::test {

/** Wall and steady time that move together, only when told to. Thread-safe to read. */
class FakeClock final : public core::Clock {
public:
    /** Starts exactly on a unix second, so tests can step within and across seconds. */
    explicit FakeClock(std::int64_t unix_seconds = 1'700'000'000)
        : elapsed_(std::chrono::seconds(unix_seconds)) {}

    std::chrono::system_clock::time_point system_now() const override {
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed_.load()));
    }
    std::chrono::steady_clock::time_point steady_now() const override {
        return std::chrono::steady_clock::time_point(
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(elapsed_.load()));
    }
    /** Milliseconds convert implicitly; microseconds for simulations of many requests a second. */
    void advance(std::chrono::microseconds by) { elapsed_ = elapsed_.load() + by; }

private:
    std::atomic<std::chrono::microseconds> elapsed_;
};

} // namespace cdn::test
