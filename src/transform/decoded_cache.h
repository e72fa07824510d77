#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/metrics.h"
#include "core/result.h"
#include "transform/deadline.h"

namespace cdn::transform {

/** A decoded original in memory (a libvips memory image), shared by the cache and the
 *  pipelines reading it: it lives until the last of them lets go, evicted or not. */
struct DecodedImage {
    std::shared_ptr<VipsImage> image;
    /** Pixel bytes held. */
    std::uint64_t bytes = 0;
};

/** Makes a DecodedImage holding one reference to `image` (taken over, not added). */
DecodedImage adopt_decoded(VipsImage* image, std::uint64_t bytes);

/**
 * Decode once, serve many (docs/perf.md "Decode once, serve many"): a bounded in-memory LRU of
 * decoded shrink-on-load intermediates, keyed by the original's identity (store key and
 * etag: a replaced original misses) and the load options (shrink factor, scale, frames), with
 * one decode in flight per key: concurrent misses of one key wait for the first one's decode.
 *
 * Bounds: `max_bytes` in all; one entry at most a quarter of it (larger decodes are not
 * cached, and callers skip the cache for them: admits()); a customer holding more than half
 * of the bytes evicts its own oldest entry to make room, so one customer's flood of originals
 * cannot push out everyone else's. Evicted entries a pipeline still reads stay alive until it
 * ends (at most one per worker beyond the bound). Thread-safe.
 */
class DecodedCache {
public:
    explicit DecodedCache(std::uint64_t max_bytes);
    DecodedCache(const DecodedCache&) = delete;
    DecodedCache& operator=(const DecodedCache&) = delete;

    using Decode = std::function<core::Result<DecodedImage>()>;

    /** Whether a decode of `bytes` would be kept (false with a cache of 0 bytes). */
    bool admits(std::uint64_t bytes) const { return bytes > 0 && bytes <= max_entry_bytes_; }

    /**
     * The entry for `key`, or `decode`'s result, kept under `key` for `customer`. While a
     * decode of `key` runs, other callers wait for it (until `deadline`: 503 timeout) and share
     * its image or its error; after a timeout of that decode (its own deadline) a waiter
     * decodes itself.
     */
    core::Result<DecodedImage> get_or_decode(const std::string& key, const std::string& customer,
                                             Deadline deadline, const Decode& decode);

    struct Stats {
        std::uint64_t hits = 0;
        /** Decodes run (by the first caller of a key). */
        std::uint64_t misses = 0;
        /** Callers that waited for another's decode instead of decoding. */
        std::uint64_t shared_decodes = 0;
        std::uint64_t evictions = 0;
        std::uint64_t bytes = 0;
        std::uint64_t entries = 0;
        /** Callers waiting for a decode in flight now. */
        std::uint64_t waiting = 0;
    };
    Stats stats() const;
    void write_metrics(core::MetricWriter& writer) const;

private:
    struct Entry {
        std::string key;
        std::string customer;
        DecodedImage image;
    };
    /** One decode in flight; waiters hold it until they have read its outcome. */
    struct Flight {
        bool done = false;
        std::optional<DecodedImage> image;
        std::optional<core::Error> error;
    };
    using Lru = std::list<Entry>; // newest first

    std::optional<DecodedImage> find(const std::string& key);
    /** The flight's outcome for a waiter, or nullopt when it should decode itself. */
    std::optional<core::Result<DecodedImage>> wait_for(std::unique_lock<std::mutex>& lock,
                                                       const std::shared_ptr<Flight>& flight,
                                                       Deadline deadline);
    core::Result<DecodedImage> lead(std::unique_lock<std::mutex>& lock, const std::string& key,
                                    const std::string& customer, const Decode& decode);
    void insert(const std::string& key, const std::string& customer, const DecodedImage& image);
    void evict_for(const std::string& customer, std::uint64_t incoming);
    void erase(Lru::iterator it);

    std::uint64_t max_bytes_;
    std::uint64_t max_entry_bytes_;
    mutable std::mutex mutex_;
    std::condition_variable landed_;
    Lru lru_;
    std::unordered_map<std::string, Lru::iterator> index_;
    std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
    std::map<std::string, std::uint64_t, std::less<>> customer_bytes_;
    std::uint64_t bytes_ = 0;
    std::uint64_t waiting_ = 0;
    std::atomic<std::uint64_t> hits_{0};
    std::atomic<std::uint64_t> misses_{0};
    std::atomic<std::uint64_t> shared_decodes_{0};
    std::atomic<std::uint64_t> evictions_{0};
};

/** Lets transform_image reuse a decode across the variants of one original: the cache and
 *  who the original is. No cache: every transform decodes its original itself. */
struct DecodeReuse {
    DecodedCache* cache = nullptr;
    /** The original's identity, its version included (store key and etag). */
    std::string original;
    /** Whose original: the unit of the cache's fair share. */
    std::string customer;
};

} // namespace cdn::transform
