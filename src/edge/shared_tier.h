#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "cache/cached_variant.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "edge/image_url.h"
#include "kv/kv_store.h"
#include "storage/blob_store.h"

namespace cdn::edge {

/** The pub/sub channel on which a lease holder says it is done with a shared variant (the
 *  message is the object's key): its waiters read the tier at once. The store adds `[kv]
 *  prefix`: on Redis, by default, `imagecdn:variants`. */
inline constexpr std::string_view VARIANT_DONE_CHANNEL = "variants";

/** `[cache] shared_tier` and the cluster-wide single-flight (docs/config.md). */
struct SharedTierConfig {
    /** How long an edge that lost a variant's lease waits for the holder's shared write before
     *  transforming itself (`[cache] shared_wait_ms`). */
    std::chrono::milliseconds wait{10'000};
    /** Shared writes waiting at most; more are dropped and counted. */
    std::size_t write_queue = 64;
    /** This process as a lease holder: unique in the cluster. */
    std::string node_id;
};

/**
 * The cluster's shared variant tier (operations.md): variants made by any edge are also kept in
 * the object store, under storage::shared_variant_key (the original's ETag is part of the key, so
 * a replaced original is never answered with an old variant). An edge that misses its own tiers
 * looks here before fetching the original.
 *
 * With a cluster KV store (Redis), one transform per variant runs in the whole cluster: an edge
 * tries the lease on the variant's object key, then reads the object (a holder writes before it
 * releases, so the lease's next holder sees the last one's write). The holder renews it every
 * LEASE_TTL / 3 while it works and releases it compare-and-delete after its shared write; the
 * others wait for its message on VARIANT_DONE_CHANNEL, then try again. A waiter re-tries the lease every
 * WAIT_SLICE: a holder that died loses it after LEASE_TTL and a waiter takes over; after `wait`
 * in all a waiter transforms without it. Without a cluster store the local single-flight is the
 * whole story.
 *
 * Store and KV calls block: look_up() runs them on the pool it is given, writes and releases
 * run on the tier's own thread after the answer. Waiters must run on a strand (each
 * connection's coroutine does).
 */
class SharedTier {
public:
    /** A lease held by this node; released (and its waiters told) when the last copy goes. */
    class Lease;
    using LeasePtr = std::shared_ptr<Lease>;

    /** What the tier knows of one miss. */
    struct Found {
        /** The variant, on a hit (this tier, or another node's transform waited for). */
        cache::VariantPtr variant;
        /** The object's key as the original is now; empty when the tier does not apply (no
         *  such original, no ETag, the store failed). */
        std::string object_key;
        /** Held when this node is to transform the variant for the cluster. */
        LeasePtr lease;
    };

    static constexpr std::chrono::milliseconds LEASE_TTL{3000};
    static constexpr std::chrono::milliseconds WAIT_SLICE{500};

    /** `cluster`: the KV store every node shares, or nullptr (no leases). */
    SharedTier(storage::BlobStore& store, kv::KvStore* cluster, const core::Clock& clock,
               SharedTierConfig config);
    /** Finishes the queued writes and releases every lease. */
    ~SharedTier();
    SharedTier(const SharedTier&) = delete;
    SharedTier& operator=(const SharedTier&) = delete;

    /** The variant `cache_key` of the original at `url`, from the tier or from the holder of its
     *  lease once it is done; else the key to write it under, with the lease when taken. */
    boost::asio::awaitable<Found> look_up(const ImageUrl& url, const std::string& cache_key,
                                          boost::asio::thread_pool& pool);

    /** After the answer, on the tier's thread: stores `variant`, made of the original of ETag
     *  `version`, when look_up() `found` the tier applies, unless `purged()` (then, or if it
     *  becomes true during the write, the object is removed again); then lets the lease go.
     *  Dropped when write_queue writes wait already. */
    void write_later(const ImageUrl& url, Found found, const std::string& version,
                     cache::VariantPtr variant, std::function<bool()> purged);

    void write_metrics(core::MetricWriter& writer) const;

private:
    struct Wake;
    /** Listens for VARIANT_DONE_CHANNEL naming one object while it lives; a message that comes
     *  before wait() is kept for it. */
    class Watch {
    public:
        Watch(SharedTier& tier, std::string object_key);
        ~Watch();
        Watch(const Watch&) = delete;
        Watch& operator=(const Watch&) = delete;
        /** True when the message came (or had come) before `at_most` had passed. */
        boost::asio::awaitable<bool> wait(std::chrono::milliseconds at_most) const;

    private:
        SharedTier& tier_;
        std::string object_key_;
        std::shared_ptr<Wake> wake_;
    };
    struct Counters {
        std::atomic<std::uint64_t> hits{0};
        std::atomic<std::uint64_t> misses{0};
        std::atomic<std::uint64_t> errors{0};
        std::atomic<std::uint64_t> writes{0};
        std::atomic<std::uint64_t> dropped{0};
        std::atomic<std::uint64_t> lease_waits{0};
        std::atomic<std::uint64_t> waited_out{0};
    };

    /** The object's key, from a HEAD of the original: blocking. */
    Found locate_object(const ImageUrl& url, const std::string& cache_key);
    cache::VariantPtr read(const std::string& object_key, const std::string& cache_key);
    /** Lease, or wait for its holder, until a hit, the lease, or `wait` has passed. */
    boost::asio::awaitable<Found> join_cluster_flight(Found found, const std::string& cache_key,
                                                      boost::asio::thread_pool& pool);
    LeasePtr try_lease(const std::string& object_key);
    void release(const std::string& object_key);
    void on_done(std::string_view object_key);
    void renew_held_leases();
    void write(const std::string& object_key, const cache::CachedVariant& variant,
               const std::function<bool()>& purged);

    storage::BlobStore& store_;
    kv::KvStore* cluster_;
    const core::Clock& clock_;
    SharedTierConfig config_;
    mutable Counters counters_;
    std::atomic<std::size_t> queued_{0};
    std::mutex waiters_mutex_;
    std::multimap<std::string, std::shared_ptr<Wake>, std::less<>> waiters_;
    std::mutex held_mutex_;
    std::condition_variable stopping_;
    bool stop_ = false;            // guarded by held_mutex_
    std::set<std::string> held_;   // lease keys this node holds; guarded by held_mutex_
    boost::asio::thread_pool writer_{1};
    kv::Subscription done_subscription_;
    std::thread renewer_;
};

} // namespace cdn::edge
