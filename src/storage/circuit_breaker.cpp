#include "storage/circuit_breaker.h"

namespace cdn::storage {

bool CircuitBreaker::allow(std::int64_t now_ms) {
    std::int64_t until = open_until_ms_.load();
    if (until == 0) {
        return true;
    }
    // Half open: the one caller that moves the deadline on is the probe; the others keep
    // failing fast until it has found the dependency back (or not).
    return now_ms >= until && open_until_ms_.compare_exchange_strong(until, now_ms + cooldown_ms_);
}

void CircuitBreaker::record(bool down, std::int64_t now_ms) {
    if (!down) {
        failures_in_a_row_ = 0;
        open_until_ms_ = 0;
    } else if (++failures_in_a_row_ >= failures_) {
        open_until_ms_ = now_ms + cooldown_ms_;
    }
}

} // namespace cdn::storage
