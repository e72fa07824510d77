#include "core/backoff.h"

#include <algorithm>
#include <cstdint>

namespace cdn::core {

std::chrono::milliseconds Backoff::next() {
    // Shifted at most 30 times: past that any sensible cap has long been reached.
    const std::int64_t doubled = first_.count() << std::min(doublings_, 30);
    const std::int64_t ceiling = std::max<std::int64_t>(1, std::min(cap_.count(), doubled));
    ++doublings_;
    std::uniform_int_distribution<std::int64_t> draw((ceiling + 1) / 2, ceiling);
    return std::chrono::milliseconds(draw(random_));
}

} // namespace cdn::core
