#include "api/auth/hash_gate.h"

#include <algorithm>
#include <thread>

namespace cdn::api {

unsigned HashGate::default_slots() { return std::max(2u, std::thread::hardware_concurrency() / 2); }

HashGate::Slot::Slot(HashGate& gate) : gate_(gate) {
    auto busy = gate_.busy_.load();
    while (busy < gate_.slots_) {
        if (gate_.busy_.compare_exchange_weak(busy, busy + 1)) {
            acquired_ = true;
            return;
        }
    }
    gate_.refused_.fetch_add(1, std::memory_order_relaxed);
}

HashGate::Slot::~Slot() {
    if (acquired_) {
        gate_.busy_.fetch_sub(1);
    }
}

} // namespace cdn::api
