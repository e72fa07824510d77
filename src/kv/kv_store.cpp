#include "kv/kv_store.h"

#include <utility>

namespace cdn::kv {

KvStore::~KvStore() = default;

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
