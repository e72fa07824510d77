#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "cache/cached_variant.h"
#include "core/clock.h"

namespace cdn::cache {

/**
 * The memory tier: a least-recently-used map bounded by bytes (CachedVariant::charge), split
 * into shards by key hash so that concurrent hits on different keys rarely share a lock. Each
 * shard holds an equal share of the capacity and evicts on its own, so the order is LRU per
 * shard. A hit costs a lock, a hash lookup and a shared_ptr copy: no allocation.
 *
 * Each shard also keeps its keys in order, so that erase_prefix() finds the entries under a
 * prefix by a range scan: a purge of one path costs O(shards × log n + its variants), not a
 * scan of the whole tier under the shard locks. Keys begin with the public key then the path
 * (cache_key.h), so this is an index by (customer, path).
 */
class MemoryCache {
public:
    using Expiry = std::optional<std::chrono::steady_clock::time_point>;

    static constexpr std::size_t DEFAULT_SHARDS = 16;

    /** @param capacity_bytes bound on the sum of the entries' charge(). */
    explicit MemoryCache(std::size_t capacity_bytes);
    /** @param clock steady time against which expiries are checked.
     *  @param shards lock stripes (at least 1); 1 gives one exact LRU over the whole capacity. */
    MemoryCache(std::size_t capacity_bytes, const core::Clock& clock,
                std::size_t shards = DEFAULT_SHARDS);

    /** The entry, or nullptr on a miss or an expired entry (dropped); a hit becomes the most
     *  recently used. */
    VariantPtr get(std::string_view key);
    /** Inserts or replaces, evicting least recently used entries to stay within capacity. An
     *  entry larger than a shard's share of the capacity is not kept (and the key's previous
     *  entry is dropped). `expires_at`: after it the entry is a miss (cached 404s). */
    void put(VariantPtr variant, Expiry expires_at = std::nullopt);
    /** Drops every entry whose key starts with `prefix`; returns how many. O(shards × log n +
     *  entries dropped). */
    std::size_t erase_prefix(std::string_view prefix);

    /** Whether put() would keep an entry of this charge() (not over a shard's share). */
    bool would_keep(std::size_t charge) const { return charge <= shard_capacity_; }
    /** The clock expiries are checked against. */
    const core::Clock& clock() const { return clock_; }
    /** Sum of the entries' charge(); never above the capacity. */
    std::size_t size_bytes() const;
    std::size_t entries() const;

private:
    struct Entry {
        VariantPtr variant;
        Expiry expires_at;
    };
    using Lru = std::list<Entry>; // front = most recently used

    // Cache-line aligned so that two shards' locks never share a line.
    struct alignas(64) Shard {
        mutable std::mutex mutex;
        Lru lru;
        // The key views the entry's own key string, which lives as long as the entry.
        std::unordered_map<std::string_view, Lru::iterator> index;
        // The same keys in byte order, for prefix purges; maintained with `index`.
        std::set<std::string_view> ordered;
        std::size_t bytes = 0;
    };

    Shard& shard_for(std::string_view key);
    static void erase(Shard& shard, Lru::iterator it);

    const core::Clock& clock_;
    std::size_t shard_count_;
    std::size_t shard_capacity_;
    std::unique_ptr<Shard[]> shards_;
};

} // namespace cdn::cache
