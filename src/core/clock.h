#pragma once

#include <chrono>
#include <cstdint>

namespace cdn::core {

/** The source of time: injected so that TTLs, windows and expiries are testable. */
class Clock {
public:
    virtual ~Clock() = default;
    /** Wall time, for timestamps shown to people and stored. */
    virtual std::chrono::system_clock::time_point system_now() const = 0;
    /** Monotonic time, for intervals and deadlines. */
    virtual std::chrono::steady_clock::time_point steady_now() const = 0;

    std::int64_t unix_seconds() const;
    std::int64_t unix_millis() const;
};

class SystemClock final : public Clock {
public:
    std::chrono::system_clock::time_point system_now() const override;
    std::chrono::steady_clock::time_point steady_now() const override;
};

} // namespace cdn::core
