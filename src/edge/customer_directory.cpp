#include "edge/customer_directory.h"

namespace cdn::edge {
namespace {
// Bounds the memory that a stream of random public keys can take.
constexpr std::size_t MAX_ENTRIES = 100'000;
} // namespace

CustomerDirectory::CustomerDirectory(db::CustomerRepository& repository, const core::Clock& clock,
                                     std::chrono::seconds ttl, std::chrono::seconds negative_ttl)
    : repository_(repository), clock_(clock), ttl_(ttl), negative_ttl_(negative_ttl) {}

std::optional<CustomerPtr> CustomerDirectory::cached(std::string_view public_key) const {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(std::string(public_key));
    if (it == entries_.end() || it->second.expires_at <= clock_.steady_now()) {
        return std::nullopt;
    }
    return it->second.customer;
}

core::Result<CustomerPtr> CustomerDirectory::load(std::string_view public_key) {
    CDN_TRY(record, repository_.find_by_public_key(public_key));
    CustomerPtr customer =
        record ? std::make_shared<const db::CustomerRecord>(std::move(*record)) : nullptr;
    const auto ttl = customer ? ttl_ : negative_ttl_;
    std::lock_guard lock(mutex_);
    if (entries_.size() >= MAX_ENTRIES) {
        entries_.clear();
    }
    entries_.insert_or_assign(std::string(public_key), Entry{customer, clock_.steady_now() + ttl});
    return customer;
}

void CustomerDirectory::invalidate(std::string_view public_key) {
    std::lock_guard lock(mutex_);
    entries_.erase(std::string(public_key));
}

} // namespace cdn::edge
