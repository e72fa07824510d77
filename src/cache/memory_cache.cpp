#include "cache/memory_cache.h"

#include <algorithm>

#include "core/hash.h"

namespace cdn::cache {
namespace {

const core::Clock& system_clock() {
    static const core::SystemClock clock;
    return clock;
}

} // namespace

MemoryCache::MemoryCache(std::size_t capacity_bytes)
    : MemoryCache(capacity_bytes, system_clock()) {}

MemoryCache::MemoryCache(std::size_t capacity_bytes, const core::Clock& clock, std::size_t shards)
    : clock_(clock), shard_count_(std::max<std::size_t>(shards, 1)),
      shard_capacity_(capacity_bytes / shard_count_),
      shards_(std::make_unique<Shard[]>(shard_count_)) {}

MemoryCache::Shard& MemoryCache::shard_for(std::string_view key) {
    return shards_[core::hash64(key) % shard_count_];
}

void MemoryCache::erase(Shard& shard, Lru::iterator it) {
    shard.bytes -= it->variant->charge();
    shard.index.erase(it->variant->key);
    shard.ordered.erase(it->variant->key);
    shard.lru.erase(it);
}

VariantPtr MemoryCache::get(std::string_view key) {
    auto& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    const auto found = shard.index.find(key);
    if (found == shard.index.end()) {
        return nullptr;
    }
    const auto it = found->second;
    if (it->expires_at && *it->expires_at <= clock_.steady_now()) {
        erase(shard, it);
        return nullptr;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, it);
    return it->variant;
}

void MemoryCache::put(VariantPtr variant, Expiry expires_at) {
    if (!variant) {
        return;
    }
    const auto charge = variant->charge();
    auto& shard = shard_for(variant->key);
    std::lock_guard lock(shard.mutex);
    // The previous entry goes even when the new one is too big: it may be stale.
    if (const auto found = shard.index.find(variant->key); found != shard.index.end()) {
        erase(shard, found->second);
    }
    if (charge > shard_capacity_) {
        return;
    }
    while (shard.bytes + charge > shard_capacity_) {
        erase(shard, std::prev(shard.lru.end()));
    }
    shard.lru.push_front(Entry{std::move(variant), expires_at});
    shard.index.emplace(shard.lru.front().variant->key, shard.lru.begin());
    shard.ordered.insert(shard.lru.front().variant->key);
    shard.bytes += charge;
}

std::size_t MemoryCache::erase_prefix(std::string_view prefix) {
    std::size_t erased = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        auto& shard = shards_[i];
        std::lock_guard lock(shard.mutex);
        for (auto it = shard.ordered.lower_bound(prefix);
             it != shard.ordered.end() && it->starts_with(prefix);) {
            const auto entry = shard.index.find(*it++)->second; // `it` moves off before the erase
            erase(shard, entry);
            ++erased;
        }
    }
    return erased;
}

std::size_t MemoryCache::size_bytes() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        total += shards_[i].bytes;
    }
    return total;
}

std::size_t MemoryCache::entries() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        total += shards_[i].lru.size();
    }
    return total;
}

} // namespace cdn::cache
