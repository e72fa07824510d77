#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cache/cached_variant.h"
#include "cache/disk_index.h"
#include "core/result.h"

namespace cdn::cache {

/**
 * The disk tier: one file per variant, `{dir}/{h[0..2]}/{h}` with h = hash128_hex(key), bounded
 * by bytes (file sizes), least recently used evicted first. The tier survives a restart: the
 * destructor saves the index (keys, sizes, LRU order) in `{dir}/index` (disk_index.h), and open()
 * reads it back, scanning only the subdirectories that changed since. Without a saved index
 * (after a crash) every file's header is read, on several threads, before open() returns or in
 * the background (Startup), and the entries are ordered by mtime (touched on hits, at most once
 * a minute per entry). A file damaged in place while
 * the process was stopped is then found at its first read, not at open: it fails its checksum,
 * is deleted and is a miss.
 *
 * A file is a fixed header (magic, version, times, status, sizes, XXH3-64 of the body; host
 * byte order, as the directory is local to the machine), then key, content type and ETag, then
 * the body; it is written to a temporary file and renamed into place. A file that is truncated,
 * garbage or fails its checksum is deleted and counted as a miss.
 *
 * A failing disk (unwritable, full, directory deleted) never fails a request and never throws:
 * reads become misses, writes are skipped for a few seconds after a failure, errors are counted
 * and logged at most once per period. A deleted directory is not recreated (it may be an
 * unmounted volume); the tier stays unhealthy until it is back.
 *
 * Thread-safe; file reads and writes happen outside the index lock. The index also keeps the
 * keys in order, so that erase_prefix() finds a path's variants by a range scan (keys begin
 * with the public key then the path: an index by (customer, path)) and deletes them in small
 * batches, releasing the lock between batches so that hits of other keys are never held up for
 * more than a batch of unlinks. The directory is locked
 * (flock on `{dir}/.lock`) so that two processes never share it.
 */
class DiskCache {
public:
    /** How open() treats the files no saved index vouches for (after a crash: every file). */
    enum class Startup {
        /** Reads them before returning. */
        Wait,
        /** Returns once the saved index is read, and reads the rest on a background thread:
         *  until then their keys are misses (made again and stored anew, which the scan then
         *  leaves alone), and purges meanwhile reach them too, as the scan adds them. */
        Background,
    };

    /** Opens (creating if needed) and indexes `dir`. Errors: unavailable when the directory
     *  cannot be created, written or locked; the caller then runs without a disk tier. */
    static core::Result<std::unique_ptr<DiskCache>> open(std::filesystem::path dir,
                                                         std::uint64_t capacity_bytes,
                                                         Startup startup = Startup::Wait);
    ~DiskCache();
    DiskCache(const DiskCache&) = delete;
    DiskCache& operator=(const DiskCache&) = delete;

    /** The variant, or nullptr on a miss (or an unreadable file, which is deleted). A hit
     *  becomes the most recently used. Blocking file I/O. */
    VariantPtr get(std::string_view key, HeaderBlockBuilder headers = nullptr);
    /** As get(), but the body stays in the file (CachedVariant::body_file), to be sent with
     *  sendfile(2). The same checks hold: a file whose header, size or key is wrong is dropped,
     *  and the body's checksum is verified the first time the file is sent and again whenever
     *  its inode, size or ctime change (a replaced or rewritten file), so that no torn or
     *  corrupt body is ever sent. Blocking file I/O (the header only, once verified).
     *  `headers`, when given, fills the variant's response_headers (also for get()). */
    VariantPtr get_to_send(std::string_view key, HeaderBlockBuilder headers = nullptr);
    /** What get_to_send() last answered for `key`, while its open file is still the one whose
     *  body was verified (one fstat, no read), as nginx's open_file_cache keeps descriptors:
     *  never blocks on file I/O, so I/O threads may call it. nullptr: call get_to_send(). */
    VariantPtr find_open(std::string_view key);
    /** Whether the index holds `key`. False is the miss get() and get_to_send() would answer
     *  too, known with one lock and no file I/O, so I/O threads may call it. */
    bool holds(std::string_view key) const;
    /** Files get_to_send() keeps open for find_open(), at most; the oldest is closed first. */
    static constexpr std::size_t MAX_OPEN_FILES = 1024;
    /** Stores the variant, evicting least recently used files to stay within capacity. A no-op
     *  while writes are paused after a failure, or for a variant bigger than the capacity.
     *  Blocking file I/O. */
    void put(const CachedVariant& variant);
    /** Deletes every variant whose key starts with `prefix`; returns how many. O(log n + files
     *  deleted), in batches of ERASE_BATCH under the lock. */
    std::size_t erase_prefix(std::string_view prefix);

    /** False for a few seconds after a failed write (writes are paused meanwhile). */
    bool healthy() const;
    /** Sum of the indexed files' sizes; never above the capacity. */
    std::uint64_t size_bytes() const;
    std::size_t entries() const;
    /** True while a background scan (Startup::Background) has not indexed every file yet. */
    bool indexing() const;
    /** Files erase_prefix() deletes per hold of the index lock. */
    static constexpr std::size_t ERASE_BATCH = 64;

    /** Failures so far: writes that failed and files that could not be read. */
    std::uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

    /** What tells one file from another at a path: a rewrite in place changes the ctime, a
     *  rename over it the inode. */
    struct FileIdentity {
        std::uint64_t inode = 0;
        std::uint64_t size = 0;
        std::int64_t ctime_ns = 0;
        bool operator==(const FileIdentity&) const = default;
    };

private:
    struct Entry {
        std::string key;
        std::uint64_t bytes = 0;
        /** Steady milliseconds of the last mtime touch, to touch at most once a minute. */
        std::int64_t touched_ms = 0;
    };
    /** A file get_to_send() opened and verified, kept for find_open(). */
    struct OpenFile {
        VariantPtr variant;
        /** The file whose body checksum was verified. */
        FileIdentity verified;
        /** Its key's place in open_order_ (which the open_files_ key views). */
        std::list<std::string>::iterator slot;
    };
    using Lru = std::list<Entry>; // front = most recently used

    /** A scanned entry and its file's mtime (nanoseconds), which orders it. */
    struct Found {
        Entry entry;
        std::int64_t mtime_ns = 0;
    };

    DiskCache(std::filesystem::path dir, std::uint64_t capacity_bytes, int lock_fd);
    void load_index(Startup startup);
    /** The entries of these subdirectories (by number), most recently used first; stops early
     *  (with what it found) when `stop` is requested. */
    std::vector<Entry> scan(const std::vector<std::size_t>& subdirs, std::stop_token stop = {});
    void background_scan(std::stop_token stop, const std::vector<std::size_t>& subdirs);
    /** Adds what a background scan found, but no key stored or purged since open(). */
    void merge_scanned(std::vector<Entry> scanned);
    bool purged_while_indexing(std::string_view key) const;
    void scan_subdir(std::size_t subdir, std::vector<Found>& found);
    std::optional<Found> index_file(const std::filesystem::path& path, std::string_view sub_name);
    /** Indexes an entry as the least recently used (at open). */
    void append_entry(Entry entry);
    /** Indexes the entries of a saved index (into an empty index). */
    void adopt(disk_index::Loaded& saved);
    void save_index();
    std::filesystem::path file_for(std::string_view key) const;
    bool touch_due(std::string_view key);
    bool mark_used(std::string_view key);
    bool body_verified(std::string_view key, const FileIdentity& file) const;
    void keep_open(std::string_view key, const VariantPtr& opened, const FileIdentity& file);
    void close_open(std::string_view key);
    void drop_unreadable(std::string_view key, const std::string& why);
    bool install(const CachedVariant& variant, const std::string& temp, std::uint64_t bytes);
    void record(Entry entry);
    void forget(Lru::iterator it, bool unlink_file);
    void evict_over_capacity();
    void note_failure(const std::string& what, bool pause_writes);
    bool writes_paused() const;

    const std::filesystem::path dir_;
    const std::uint64_t capacity_;
    const int lock_fd_;
    mutable std::mutex mutex_;
    Lru lru_;
    // The key views the entry's own key string, which lives as long as the entry.
    std::unordered_map<std::string_view, Lru::iterator> index_;
    // The same keys in byte order, for prefix purges; maintained with `index_`.
    std::set<std::string_view> ordered_;
    // At most MAX_OPEN_FILES, apart from the index so that it costs the index nothing; keys
    // oldest first in open_order_. Under mutex_.
    std::unordered_map<std::string_view, OpenFile> open_files_;
    std::list<std::string> open_order_;
    std::uint64_t bytes_ = 0;
    /** While a background scan runs (guarded by mutex_): the subdirectories it reads, which a
     *  save meanwhile marks untrusted, and the prefixes purged since it began. */
    bool indexing_ = false;
    std::vector<std::size_t> unscanned_;
    std::vector<std::string> purged_while_indexing_;
    /** Temporary files older than this are unfinished writes of an earlier run. */
    std::filesystem::file_time_type stale_temps_before_;
    std::atomic<std::uint64_t> errors_{0};
    std::atomic<std::uint64_t> errors_logged_{0};
    std::atomic<std::int64_t> paused_until_ms_{0};
    std::atomic<std::int64_t> next_log_ms_{0};
    // Last, and joined first by the destructor: it uses everything above.
    std::jthread scanner_;
};

} // namespace cdn::cache
