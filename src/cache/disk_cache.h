#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cache/cached_variant.h"
#include "core/result.h"

namespace cdn::cache {

/**
 * The disk tier: one file per variant under `dir`, bounded by bytes, least recently used
 * evicted first, and rebuilt from the files at start-up so it survives a restart. A failing
 * disk (unwritable, full, files replaced by garbage) never fails a request: reads become
 * misses, writes are skipped for a while, and the error is logged.
 */
class DiskCache {
public:
    static core::Result<std::unique_ptr<DiskCache>> open(const std::filesystem::path& dir,
                                                         std::uint64_t capacity_bytes);

    /** The variant, or nullptr on a miss (or an unreadable file, which is dropped). */
    VariantPtr get(std::string_view key);
    /** Stores the variant (no-op while the disk is failing). */
    void put(const CachedVariant& variant);
    std::size_t erase_prefix(std::string_view prefix);

    std::uint64_t size_bytes() const;
    std::size_t entries() const;
    std::uint64_t errors() const { return errors_.load(); }

private:
    struct Entry {
        std::string key;
        std::string file;
        std::uint64_t bytes = 0;
    };
    using Lru = std::list<Entry>; // front = most recent

    DiskCache(std::filesystem::path dir, std::uint64_t capacity_bytes);
    void load_index();
    std::filesystem::path file_for(std::string_view key) const;
    void record(Entry entry);
    void forget(Lru::iterator it, bool unlink_file);
    void evict_over_capacity();
    void fail(const std::string& what, bool pause_writes);
    bool writes_paused() const;

    std::filesystem::path dir_;
    std::uint64_t capacity_;
    mutable std::mutex mutex_;
    Lru lru_;
    std::unordered_map<std::string_view, Lru::iterator> index_;
    std::uint64_t bytes_ = 0;
    std::atomic<std::uint64_t> errors_{0};
    std::atomic<std::int64_t> paused_until_ms_{0};
};

} // namespace cdn::cache
