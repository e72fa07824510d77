#include "cache/memory_cache.h"

#include "core/hash.h"

namespace cdn::cache {

MemoryCache::MemoryCache(std::size_t capacity_bytes) : shard_capacity_(capacity_bytes / SHARDS) {}

MemoryCache::Shard& MemoryCache::shard_for(std::string_view key) {
    return shards_[core::hash64(key) % SHARDS];
}

void MemoryCache::erase(Shard& shard, std::list<Entry>::iterator it) {
    shard.bytes -= it->variant->charge();
    shard.index.erase(it->variant->key);
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
    if (it->expires_at && *it->expires_at <= std::chrono::steady_clock::now()) {
        erase(shard, it);
        return nullptr;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, it);
    return it->variant;
}

void MemoryCache::put(VariantPtr variant, Expiry expires_at) {
    const auto charge = variant->charge();
    auto& shard = shard_for(variant->key);
    std::lock_guard lock(shard.mutex);
    if (const auto found = shard.index.find(variant->key); found != shard.index.end()) {
        erase(shard, found->second);
    }
    if (charge > shard_capacity_) {
        return;
    }
    while (shard.bytes + charge > shard_capacity_ && !shard.lru.empty()) {
        erase(shard, std::prev(shard.lru.end()));
    }
    shard.lru.push_front(Entry{std::move(variant), expires_at});
    // The index's key views the entry's own key string, which lives as long as the entry.
    shard.index.emplace(shard.lru.front().variant->key, shard.lru.begin());
    shard.bytes += charge;
}

std::size_t MemoryCache::erase_prefix(std::string_view prefix) {
    std::size_t erased = 0;
    for (auto& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        for (auto it = shard.lru.begin(); it != shard.lru.end();) {
            const auto next = std::next(it);
            if (it->variant->key.starts_with(prefix)) {
                erase(shard, it);
                ++erased;
            }
            it = next;
        }
    }
    return erased;
}

std::size_t MemoryCache::size_bytes() const {
    std::size_t total = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        total += shard.bytes;
    }
    return total;
}

std::size_t MemoryCache::entries() const {
    std::size_t total = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        total += shard.lru.size();
    }
    return total;
}

} // namespace cdn::cache
