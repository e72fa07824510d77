#include "cache/tiered_cache.h"

#include <algorithm>

namespace cdn::cache {

VariantPtr TieredCache::get_from_memory(std::string_view key) {
    auto hit = memory_.get(key);
    if (hit) {
        memory_hits_.fetch_add(1, std::memory_order_relaxed);
    }
    return hit;
}

TieredCache::Lookup TieredCache::get(std::string_view key) {
    if (auto hit = get_from_memory(key)) {
        return {std::move(hit), Tier::Memory};
    }
    if (disk_ != nullptr) {
        if (auto hit = disk_->get(key)) {
            disk_hits_.fetch_add(1, std::memory_order_relaxed);
            memory_.put(hit);
            return {std::move(hit), Tier::Disk};
        }
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    return {};
}

void TieredCache::put(const VariantPtr& variant, MemoryCache::Expiry expires_at) {
    put_in_memory(variant, expires_at);
    if (!expires_at) {
        put_on_disk(variant);
    }
}

void TieredCache::put_in_memory(const VariantPtr& variant, MemoryCache::Expiry expires_at) {
    if (variant) {
        memory_.put(variant, expires_at);
    }
}

void TieredCache::put_on_disk(const VariantPtr& variant) {
    if (variant && disk_ != nullptr) {
        disk_->put(*variant);
    }
}

std::size_t TieredCache::purge_prefix(std::string_view prefix) {
    const auto in_memory = memory_.erase_prefix(prefix);
    const auto on_disk = disk_ != nullptr ? disk_->erase_prefix(prefix) : 0;
    return std::max(in_memory, on_disk);
}

TieredCache::Stats TieredCache::stats() const {
    return Stats{memory_hits_.load(std::memory_order_relaxed),
                 disk_hits_.load(std::memory_order_relaxed),
                 misses_.load(std::memory_order_relaxed)};
}

} // namespace cdn::cache
