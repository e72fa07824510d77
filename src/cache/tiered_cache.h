#pragma once

#include <atomic>
#include <cstdint>

#include "cache/disk_cache.h"
#include "cache/memory_cache.h"

namespace cdn::cache {

/** Where a lookup was answered. */
enum class Tier { None, Memory, Disk };

/**
 * The variant cache of delivery.md: memory first, then disk; a disk hit is promoted to memory.
 * The disk tier is optional (absent when disabled or when its directory could not be opened).
 * Thread-safe. Disk reads and writes happen inline, so calls may block on file I/O.
 */
class TieredCache {
public:
    /** Both tiers must outlive the cache; `disk` may be null. */
    TieredCache(MemoryCache& memory, DiskCache* disk) : memory_(memory), disk_(disk) {}

    struct Lookup {
        /** nullptr on a miss. */
        VariantPtr variant;
        Tier tier = Tier::None;
    };
    /** Lookup counters since start (monotonic, for /metrics). */
    struct Stats {
        std::uint64_t memory_hits = 0;
        std::uint64_t disk_hits = 0;
        std::uint64_t misses = 0;
    };

    /** Memory, then disk (promoting a hit to memory). May block on file I/O. */
    Lookup get(std::string_view key);
    /** The memory tier alone: never blocks, so I/O threads may call it. A miss here is not
     *  counted (the full get() that follows counts it). */
    VariantPtr get_from_memory(std::string_view key);
    /** Stores in both tiers. May block on file I/O. */
    void put(const VariantPtr& variant, MemoryCache::Expiry expires_at = std::nullopt);
    /** The two halves of put(): the memory tier (never blocks) and the disk tier (blocks). An
     *  entry with an expiry (a cached 404) stays in memory only: the disk tier keeps no
     *  expiries, and a restart must not resurrect a stale 404. */
    void put_in_memory(const VariantPtr& variant, MemoryCache::Expiry expires_at = std::nullopt);
    void put_on_disk(const VariantPtr& variant);
    /** Drops every variant whose key starts with `prefix` from both tiers; returns the larger
     *  of the two tiers' counts (a variant usually sits in both). */
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
