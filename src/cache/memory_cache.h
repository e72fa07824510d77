#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cache/cached_variant.h"

namespace cdn::cache {

/**
 * The memory tier: a least-recently-used map bounded by bytes, split into shards by key hash so
 * that concurrent hits on different keys rarely share a lock.
 */
class MemoryCache {
public:
    using Expiry = std::optional<std::chrono::steady_clock::time_point>;

    explicit MemoryCache(std::size_t capacity_bytes);

    /** The entry, or nullptr on a miss or an expired entry; a hit becomes most recent. */
    VariantPtr get(std::string_view key);
    /** Inserts or replaces, evicting least recently used entries to stay within capacity. An
     *  entry larger than a shard's share of the capacity is not kept. */
    void put(VariantPtr variant, Expiry expires_at = std::nullopt);
    /** Drops every entry whose key starts with `prefix`; returns how many. */
    std::size_t erase_prefix(std::string_view prefix);

    std::size_t size_bytes() const;
    std::size_t entries() const;

private:
    static constexpr std::size_t SHARDS = 16;

    struct Entry {
        VariantPtr variant;
        Expiry expires_at;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::list<Entry> lru; // front = most recent
        std::unordered_map<std::string_view, std::list<Entry>::iterator> index;
        std::size_t bytes = 0;
    };

    Shard& shard_for(std::string_view key);
    static void erase(Shard& shard, std::list<Entry>::iterator it);

    std::size_t shard_capacity_;
    std::array<Shard, SHARDS> shards_;
};

} // namespace cdn::cache
