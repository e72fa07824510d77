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

} // namespace cdn::edge
