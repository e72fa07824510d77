#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "kv/kv_store.h"

namespace cdn::kv {

/** The outcome of one WindowLimiter::admit(). */
struct WindowDecision {
    bool allowed = true;
    /** When refused: seconds until the window ends (the Retry-After value), at least 1. */
    std::int64_t retry_after_seconds = 0;
};

/**
 * At most `limit` events per key and fixed window (e.g. one customer's purges per minute),
 * counted in the KvStore under `{name}:{key}:{window}` so that with Redis the limit holds
 * across every node. Windows are aligned to unix time (`floor(now / window)`), so nodes agree
 * on them and Retry-After is exact; the price of fixed windows is up to twice the limit
 * around a boundary. Every attempt is counted, refused ones too: one INCR decides atomically,
 * and the block still ends with the window.
 */
class WindowLimiter {
public:
    /** @param name the counters' namespace, e.g. "purge". */
    WindowLimiter(KvStore& store, const core::Clock& clock, std::string name,
                  std::chrono::seconds window = std::chrono::minutes(1))
        : store_(store), clock_(clock), name_(std::move(name)), window_(window) {}

    /** Counts one event of `key`; refused when it is over `limit` in this window. Errors: the
     *  store's (the caller chooses to fail open or closed). */
    core::Result<WindowDecision> admit(std::string_view key, std::uint64_t limit) const;

private:
    KvStore& store_;
    const core::Clock& clock_;
    std::string name_;
    std::chrono::seconds window_;
};

} // namespace cdn::kv
