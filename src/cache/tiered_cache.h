#pragma once

#include <atomic>
#include <cstdint>

#include "cache/disk_cache.h"
#include "cache/memory_cache.h"

namespace cdn::cache {

enum class Tier { None, Memory, Disk };

/** Memory first, then disk; a disk hit is promoted to memory. The disk tier is optional. */
class TieredCache {
public:
    TieredCache(MemoryCache& memory, DiskCache* disk) : memory_(memory), disk_(disk) {}

    struct Lookup {
        VariantPtr variant;
        Tier tier = Tier::None;
    };
    struct Stats {
        std::uint64_t memory_hits = 0;
        std::uint64_t disk_hits = 0;
        std::uint64_t misses = 0;
    };

    Lookup get(std::string_view key);
    /** Stores in both tiers; an entry with an expiry (a cached 404) stays in memory only. */
    void put(const VariantPtr& variant, MemoryCache::Expiry expires_at = std::nullopt);
    /** Drops every variant whose key starts with `prefix`, from both tiers. */
    std::size_t purge_prefix(std::string_view prefix);
    Stats stats() const;

private:
    MemoryCache& memory_;
    DiskCache* disk_;
    std::atomic<std::uint64_t> memory_hits_{0};
    std::atomic<std::uint64_t> disk_hits_{0};
    std::atomic<std::uint64_t> misses_{0};
};

} // namespace cdn::cache
