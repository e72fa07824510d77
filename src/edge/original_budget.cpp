#include "edge/original_budget.h"

#include <utility>

namespace cdn::edge {

OriginalBudget::Hold::Hold(Hold&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), customer_(std::move(other.customer_)),
      bytes_(other.bytes_) {}

OriginalBudget::Hold::~Hold() {
    if (budget_ != nullptr) {
        budget_->give_back(customer_, bytes_);
    }
}

std::optional<OriginalBudget::Hold> OriginalBudget::try_hold(const std::string& customer,
                                                             std::uint64_t bytes) {
    if (total_ == 0) {
        return Hold(nullptr, {}, 0);
    }
    std::lock_guard lock(mutex_);
    const auto it = by_customer_.find(customer);
    const std::uint64_t mine = it == by_customer_.end() ? 0 : it->second;
    if (held_ + bytes > total_ || mine + bytes > per_customer()) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
    }
    held_ += bytes;
    by_customer_[customer] = mine + bytes;
    return Hold(this, customer, bytes);
}

void OriginalBudget::give_back(const std::string& customer, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    held_ -= bytes;
    const auto it = by_customer_.find(customer);
    if (it != by_customer_.end() && (it->second -= bytes) == 0) {
        by_customer_.erase(it);
    }
}

std::uint64_t OriginalBudget::held() const {
    std::lock_guard lock(mutex_);
    return held_;
}

void OriginalBudget::write_metrics(core::MetricWriter& writer) const {
    writer.single("imagecdn_originals_in_flight_bytes", "gauge",
                  "Bytes of originals held for misses in flight (under originals_in_flight_bytes).",
                  static_cast<double>(held()));
    writer.single("imagecdn_originals_over_budget_total", "counter",
                  "Misses answered 503 busy because their original would exceed the budget.",
                  static_cast<double>(refused()));
}

} // namespace cdn::edge
