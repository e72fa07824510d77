#include "kv/kv_store.h"

#include <utility>

namespace cdn::kv {

KvStore::~KvStore() = default;

core::Result<std::vector<std::int64_t>> KvStore::increment_all(
    const std::vector<CounterDelta>& deltas) {
    std::vector<std::int64_t> values;
    values.reserve(deltas.size());
    for (const auto& change : deltas) {
        CDN_TRY(value, increment(change.key, change.delta, change.ttl));
        values.push_back(value);
    }
    return values;
}

LogTail tail_after(std::vector<LogEntry> kept, std::int64_t last_sequence,
                   std::int64_t after_sequence) {
    LogTail tail{.last_sequence = last_sequence};
    // The log restarted below what the caller saw, or its oldest kept entry is past the next
    // one the caller needs: something in between is gone.
    tail.complete = after_sequence <= last_sequence &&
                    (after_sequence == last_sequence ||
                     (!kept.empty() && kept.front().sequence <= after_sequence + 1));
    for (auto& entry : kept) {
        if (entry.sequence > after_sequence || after_sequence > last_sequence) {
            tail.entries.push_back(std::move(entry));
        }
    }
    return tail;
}

void KvStore::write_metrics(core::MetricWriter& writer) const {
    writer.single("imagecdn_kv_up", "gauge",
                  "1 while the KV store (Redis, or the in-process store) answers, 0 while not.",
                  available() ? 1.0 : 0.0);
}

Subscription::Subscription(Subscription&& other) noexcept
    : cancel_(std::exchange(other.cancel_, nullptr)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
    if (this != &other) {
        reset();
        cancel_ = std::exchange(other.cancel_, nullptr);
    }
    return *this;
}

Subscription::~Subscription() { reset(); }

void Subscription::reset() {
    // Cleared before the call, so a cancel that somehow re-enters finds nothing left to do.
    if (auto cancel = std::exchange(cancel_, nullptr)) {
        cancel();
    }
}

} // namespace cdn::kv
