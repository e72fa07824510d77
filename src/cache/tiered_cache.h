#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cache/disk_cache.h"
#include "cache/memory_cache.h"
#include "cache/status.h"
#include "core/metrics.h"

namespace cdn::cache {

/** Where a lookup was answered. */
enum class Tier { None, Memory, Disk };

/**
 * The variant cache of delivery.md: memory first, then disk; a disk hit is promoted to memory.
 * The disk tier is optional (absent when disabled or when its directory could not be opened).
 * Thread-safe. Disk reads and writes happen inline, so calls may block on file I/O.
 *
 * Purges and variants in production race: a variant whose production started before a purge
 * may be stored after it and bring the purged content back. Every purge therefore bumps a
 * generation and is remembered (the last PURGE_HISTORY of them). A producer does:
 *
 *     const auto g = cache.generation();           // before fetching the original
 *     ... fetch, transform ...
 *     cache.put_in_memory_unless_purged(v, g);     // not kept if a purge since g covers v
 *     post to the blocking pool: cache.put_on_disk_unless_purged(v, g);
 *
 * The _unless_purged puts check purged_since() before storing and again after, undoing the
 * store if a purge ran in between; a bare `if (!purged_since(key, g)) put_in_memory(v)` still
 * leaves that window open. The disk write must be checked too (and with the same `g`): it runs
 * later, on another thread, and a purge may have come meanwhile.
 */
class TieredCache {
public:
    /** Both tiers must outlive the cache; `disk` may be null. */
    TieredCache(MemoryCache& memory, DiskCache* disk) : memory_(memory), disk_(disk) {}

    struct Lookup {
        /** nullptr on a miss. */
        VariantPtr variant;
        Tier tier = Tier::None;

        /** The answer's status: a hit in either tier, else a miss. */
        Status status() const {
            return tier == Tier::Memory ? Status::Hit
                   : tier == Tier::Disk ? Status::HitDisk
                                        : Status::Miss;
        }
    };
    /** Lookup counters since start (monotonic, for /metrics). */
    struct Stats {
        std::uint64_t memory_hits = 0;
        std::uint64_t disk_hits = 0;
        std::uint64_t misses = 0;
        std::uint64_t stale_served = 0;
    };

    /** Memory, then disk (promoting a hit to memory). Only fresh variants are hits
     *  (CachedVariant::fresh_until): a stale one is a miss but stays, for get_stale(). May
     *  block on file I/O. */
    Lookup get(std::string_view key);
    /** The memory tier alone: never blocks, so I/O threads may call it. A miss here is not
     *  counted (the get_from_disk() that follows counts it). */
    VariantPtr get_from_memory(std::string_view key);
    /** The disk tier, after a miss in memory: a hit is promoted to memory; a miss is counted
     *  as a miss of both tiers. Blocks on file I/O when there is a disk tier. */
    VariantPtr get_from_disk(std::string_view key);
    /** A disk-tier hit whose file is already open and verified (DiskCache::find_open): never
     *  blocks, so I/O threads may call it. A miss here is not counted. */
    VariantPtr get_open_on_disk(std::string_view key);
    /** True when the disk tier does not hold `key` (DiskCache::holds), known without file
     *  I/O: the miss is counted, as get_from_disk_to_send() counts one, and I/O threads may
     *  call it. False without a disk tier. */
    bool missing_on_disk(std::string_view key);
    /** get_from_disk() for an answer: when the memory tier would not keep the variant (disabled,
     *  or the variant over its share), the hit is not read into memory and its body stays in its
     *  file (CachedVariant::body_file) to be sent with sendfile(2); otherwise the hit is read
     *  and promoted as get_from_disk() does. Blocks on file I/O when there is a disk tier. */
    VariantPtr get_from_disk_to_send(std::string_view key);
    /** The key's 200 variant in either tier, fresh or stale, for a store outage only
     *  (delivery.md step 9: stale on failure); never a cached 404. Counted as stale served.
     *  Blocks on file I/O when there is a disk tier. */
    VariantPtr get_stale(std::string_view key);
    /** Given once before serving: variants read back from disk get their response header block
     *  built once, by `headers`, instead of on every answer. */
    void set_header_block_builder(HeaderBlockBuilder headers) { header_block_ = headers; }
    /** False when the disk tier is disabled: get_from_disk() then never blocks. */
    bool has_disk() const { return disk_ != nullptr; }
    /** How many purges this cache has seen; take it before producing a variant. */
    std::uint64_t generation() const { return generation_.load(std::memory_order_seq_cst); }
    /** True when a purge after `generation` had a prefix that `key` starts with, or when so
     *  many purges came since that they are no longer all remembered (the caller then just
     *  does not cache). Lock-free when no purge came since `generation`. */
    bool purged_since(std::string_view key, std::uint64_t generation) const;

    /** Stores in both tiers. May block on file I/O. */
    void put(const VariantPtr& variant, MemoryCache::Expiry expires_at = std::nullopt);
    /** The two halves of put(): the memory tier (never blocks) and the disk tier (blocks). An
     *  entry with an expiry (a cached 404) stays in memory only: the disk tier keeps no
     *  expiries, and a restart must not resurrect a stale 404. */
    void put_in_memory(const VariantPtr& variant, MemoryCache::Expiry expires_at = std::nullopt);
    void put_on_disk(const VariantPtr& variant);
    /** put_in_memory / put_on_disk unless a purge since `generation` covers the variant's key;
     *  true when it was stored and is still there as far as purges go. */
    bool put_in_memory_unless_purged(const VariantPtr& variant, std::uint64_t generation,
                                     MemoryCache::Expiry expires_at = std::nullopt);
    bool put_on_disk_unless_purged(const VariantPtr& variant, std::uint64_t generation);
    /** Drops every variant whose key starts with `prefix` from both tiers; returns the larger
     *  of the two tiers' counts (a variant usually sits in both). Bumps generation(). */
    std::size_t purge_prefix(std::string_view prefix);
    Stats stats() const;
    void write_metrics(core::MetricWriter& writer) const;

    /** Purges remembered for purged_since(); older ones make it answer true. */
    static constexpr std::size_t PURGE_HISTORY = 4096;

private:
    void record_purge(std::string_view prefix);
    bool history_covers(std::string_view key, std::uint64_t generation) const;
    bool fresh(const CachedVariant& variant) const;

    MemoryCache& memory_;
    DiskCache* disk_;
    HeaderBlockBuilder header_block_ = nullptr;
    // Purge generation n's prefix sits at purges_[(n - 1) % PURGE_HISTORY]; grown on demand so
    // that a cache never purged costs nothing. Both change only under purges_mutex_.
    mutable std::mutex purges_mutex_;
    std::vector<std::string> purges_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::uint64_t> memory_hits_{0};
    std::atomic<std::uint64_t> disk_hits_{0};
    std::atomic<std::uint64_t> misses_{0};
    std::atomic<std::uint64_t> stale_served_{0};
};

} // namespace cdn::cache
