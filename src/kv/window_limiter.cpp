#include "kv/window_limiter.h"

#include <algorithm>

namespace cdn::kv {

core::Result<WindowDecision> WindowLimiter::admit(std::string_view key,
                                                 std::uint64_t limit) const {
    const auto now = clock_.unix_seconds();
    const auto length = std::max<std::int64_t>(1, window_.count());
    const auto window = now / length;
    const auto until_next = (window + 1) * length - now;
    const auto counter = name_ + ":" + std::string(key) + ":" + std::to_string(window);
    // Lives until its window ends, plus a second for clock skew between nodes.
    CDN_TRY(count, store_.increment(counter, 1, std::chrono::seconds(until_next + 1)));
    if (static_cast<std::uint64_t>(std::max<std::int64_t>(count, 0)) <= limit) {
        return WindowDecision{};
    }
    return WindowDecision{.allowed = false, .retry_after_seconds = until_next};
}

} // namespace cdn::kv
