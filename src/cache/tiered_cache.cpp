#include "cache/tiered_cache.h"

#include <algorithm>

namespace cdn::cache {

bool TieredCache::fresh(const CachedVariant& variant) const {
    return variant.fresh_at(memory_.clock().unix_seconds());
}

VariantPtr TieredCache::get_from_memory(std::string_view key) {
    auto hit = memory_.get(key);
    if (!hit || !fresh(*hit)) {
        return nullptr;
    }
    memory_hits_.fetch_add(1, std::memory_order_relaxed);
    return hit;
}

VariantPtr TieredCache::get_from_disk(std::string_view key) {
    if (disk_ != nullptr) {
        // A purge may run while the file is read: promote the hit only if none covered it.
        const auto since = generation();
        if (auto hit = disk_->get(key, header_block_)) {
            // A stale one is promoted too, so that get_stale() finds it in memory.
            put_in_memory_unless_purged(hit, since);
            if (fresh(*hit)) {
                disk_hits_.fetch_add(1, std::memory_order_relaxed);
                return hit;
            }
        }
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
}

VariantPtr TieredCache::get_open_on_disk(std::string_view key) {
    auto hit = disk_ != nullptr ? disk_->find_open(key) : nullptr;
    if (!hit || !fresh(*hit)) {
        return nullptr;
    }
    disk_hits_.fetch_add(1, std::memory_order_relaxed);
    return hit;
}

bool TieredCache::missing_on_disk(std::string_view key) {
    if (disk_ == nullptr || disk_->holds(key)) {
        return false;
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

VariantPtr TieredCache::get_from_disk_to_send(std::string_view key) {
    if (disk_ == nullptr) {
        return get_from_disk(key);
    }
    auto hit = disk_->get_to_send(key, header_block_);
    if (hit && memory_.would_keep(hit->charge() + hit->body_size())) {
        // Hot entries move to memory, where a hit costs no file I/O at all.
        return get_from_disk(key);
    }
    if (hit && fresh(*hit)) {
        disk_hits_.fetch_add(1, std::memory_order_relaxed);
        return hit;
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
}

VariantPtr TieredCache::get_stale(std::string_view key) {
    auto kept = memory_.get(key);
    if (!kept && disk_ != nullptr) {
        kept = disk_->get(key);
    }
    if (!kept || kept->status != 200) {
        return nullptr;
    }
    stale_served_.fetch_add(1, std::memory_order_relaxed);
    return kept;
}

TieredCache::Lookup TieredCache::get(std::string_view key) {
    if (auto hit = get_from_memory(key)) {
        return {std::move(hit), Tier::Memory};
    }
    if (auto hit = get_from_disk(key)) {
        return {std::move(hit), Tier::Disk};
    }
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

// Both puts check, store, then check again: purge_prefix records the purge before erasing, so
// a purge the second check does not see erased after the store landed (the tiers' own locks
// order the two), and one it does see may have erased before: the store is undone. The undo
// may also drop a fresh copy stored meanwhile by someone else, which only costs a miss.

bool TieredCache::put_in_memory_unless_purged(const VariantPtr& variant, std::uint64_t generation,
                                              MemoryCache::Expiry expires_at) {
    if (!variant || purged_since(variant->key, generation)) {
        return false;
    }
    memory_.put(variant, expires_at);
    if (purged_since(variant->key, generation)) {
        memory_.erase_prefix(variant->key);
        return false;
    }
    return true;
}

bool TieredCache::put_on_disk_unless_purged(const VariantPtr& variant, std::uint64_t generation) {
    if (!variant || disk_ == nullptr || purged_since(variant->key, generation)) {
        return false;
    }
    disk_->put(*variant);
    if (purged_since(variant->key, generation)) {
        disk_->erase_prefix(variant->key);
        return false;
    }
    return true;
}

bool TieredCache::purged_since(std::string_view key, std::uint64_t generation) const {
    // The common case, no purge since: one atomic load, no lock.
    if (generation_.load(std::memory_order_seq_cst) <= generation) {
        return false;
    }
    std::lock_guard lock(purges_mutex_);
    return history_covers(key, generation);
}

bool TieredCache::history_covers(std::string_view key, std::uint64_t generation) const {
    const auto current = generation_.load(std::memory_order_relaxed);
    // Some purge after `generation` is forgotten; it may have covered the key.
    if (current - generation > PURGE_HISTORY) {
        return true;
    }
    for (auto n = generation + 1; n <= current; ++n) {
        if (key.starts_with(purges_[(n - 1) % PURGE_HISTORY])) {
            return true;
        }
    }
    return false;
}

void TieredCache::record_purge(std::string_view prefix) {
    std::lock_guard lock(purges_mutex_);
    const auto next = generation_.load(std::memory_order_relaxed) + 1;
    const auto slot = static_cast<std::size_t>((next - 1) % PURGE_HISTORY);
    if (slot == purges_.size()) {
        purges_.emplace_back(prefix); // still filling the history
    } else {
        purges_[slot] = prefix;
    }
    // Published after the slot is written: a reader past the fast path finds it under the lock.
    generation_.store(next, std::memory_order_seq_cst);
}

std::size_t TieredCache::purge_prefix(std::string_view prefix) {
    // Recorded before erasing, so that a put racing with the erase sees it in its second check.
    record_purge(prefix);
    const auto in_memory = memory_.erase_prefix(prefix);
    const auto on_disk = disk_ != nullptr ? disk_->erase_prefix(prefix) : 0;
    return std::max(in_memory, on_disk);
}

TieredCache::Stats TieredCache::stats() const {
    return Stats{memory_hits_.load(std::memory_order_relaxed),
                 disk_hits_.load(std::memory_order_relaxed),
                 misses_.load(std::memory_order_relaxed),
                 stale_served_.load(std::memory_order_relaxed)};
}

void TieredCache::write_metrics(core::MetricWriter& writer) const {
    const auto counts = stats();
    writer.family("imagecdn_cache_lookups_total", "counter", "Variant cache lookups by result.");
    writer.sample("imagecdn_cache_lookups_total", R"(tier="memory",result="hit")",
                  static_cast<double>(counts.memory_hits));
    writer.sample("imagecdn_cache_lookups_total", R"(tier="disk",result="hit")",
                  static_cast<double>(counts.disk_hits));
    writer.sample("imagecdn_cache_lookups_total", R"(tier="all",result="miss")",
                  static_cast<double>(counts.misses));
    writer.single("imagecdn_cache_stale_served_total", "counter",
                  "Variants served past their freshness because the image store failed.",
                  static_cast<double>(counts.stale_served));
    writer.single("imagecdn_cache_purges_total", "counter",
                  "Purges applied to this node's tiers (announced or replayed).",
                  static_cast<double>(generation()));
}

} // namespace cdn::cache
