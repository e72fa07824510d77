#include "core/clock.h"

namespace cdn::core {

std::int64_t Clock::unix_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(system_now().time_since_epoch()).count();
}

std::int64_t Clock::unix_millis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(system_now().time_since_epoch())
        .count();
}

std::chrono::system_clock::time_point SystemClock::system_now() const {
    return std::chrono::system_clock::now();
}

std::chrono::steady_clock::time_point SystemClock::steady_now() const {
    return std::chrono::steady_clock::now();
}

} // namespace cdn::core
