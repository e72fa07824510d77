#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "account/customer_settings.h"
#include "cache/single_flight.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/result.h"
#include "db/customer_repository.h"
#include "db/database.h"
#include "transform/options.h"

namespace cdn::edge {

/** What the edge knows of a customer: the row, its settings parsed and its presets. */
struct CustomerConfig {
    db::CustomerRecord record;
    account::CustomerSettings settings;
    std::map<std::string, transform::DeliveryOptions, std::less<>> presets;
    /** Cache-Control of delivered images, from settings.cache_ttl_seconds. */
    std::string cache_control;
};

using CustomerPtr = std::shared_ptr<const CustomerConfig>;

/**
 * The seed's KV `customer:{public_key}` (and custom-domain host → customer): customer configs
 * cached in memory for a TTL, unknown keys and hosts cached briefly too, so that random keys
 * cannot hammer the database. find_by_*() read through: the cached answer, else one database
 * read on the blocking pool shared by every concurrent miss of that key or host. cached_*()
 * never block; load_*() read the database and must run off the I/O threads. A change made
 * anywhere is announced with invalidate() (wired to the KV config channel, and to SIGHUP for
 * the operator CLI): the next request reads it afresh.
 *
 * While the database cannot answer (db::is_database_unavailable), an expired entry is served
 * stale rather than failing the request, and is not asked for again for STALE_RETRY: an outage
 * of the shared database must not stop every edge from serving what it knows.
 */
class CustomerDirectory {
public:
    /** @param blocking_pool runs the database reads of find_by_*()
     *  @param max_dimension the server's hard limit, which preset options are checked against
     *  @param max_entries bound on the answers cached by key, and on those by host: it bounds
     *  the memory a stream of random keys or hosts can take (docs/perf.md: a customer's config
     *  costs about 2 KB) */
    CustomerDirectory(db::Database& db, boost::asio::thread_pool& blocking_pool,
                      const core::Clock& clock, std::chrono::seconds ttl,
                      std::chrono::seconds negative_ttl, std::uint32_t max_dimension,
                      std::size_t max_entries = DEFAULT_MAX_ENTRIES);

    static constexpr std::size_t DEFAULT_MAX_ENTRIES = 250'000;

    /** The customer (nullptr for none) with this public key, or with this custom domain:
     *  cached, else read from the database off the I/O thread. */
    boost::asio::awaitable<core::Result<CustomerPtr>> find_by_key(std::string_view public_key);
    boost::asio::awaitable<core::Result<CustomerPtr>> find_by_host(std::string_view host);

    /** A cached answer: a customer, or nullptr for one known not to exist; nullopt when not
     *  cached or expired. */
    std::optional<CustomerPtr> cached_by_key(std::string_view public_key) const;
    std::optional<CustomerPtr> cached_by_host(std::string_view host) const;

    /** Read the database and cache the answer (nullptr for none). */
    core::Result<CustomerPtr> load_by_key(std::string_view public_key);
    core::Result<CustomerPtr> load_by_host(std::string_view host);

    /** Drops what is cached about this customer (by key and by every host). */
    void invalidate(std::string_view public_key);
    void invalidate_all();

    /** While set, no cached answer older than `cap` is used, whatever TTL it was cached with:
     *  set while invalidations cannot arrive (the KV store is unreachable), so a change made
     *  elsewhere is seen within `cap`. nullopt restores the configured TTLs. */
    void cap_ttl(std::optional<std::chrono::seconds> cap);

    /** How long a stale entry is served before the database is asked again. */
    static constexpr std::chrono::seconds STALE_RETRY{5};

    /** Database reads since start, for /metrics: a flood of unknown keys must not raise it
     *  once per request. */
    std::uint64_t loads() const { return loads_.load(std::memory_order_relaxed); }
    /** Requests answered from an expired entry because the database could not answer. */
    std::uint64_t stale_served() const { return stale_served_.load(std::memory_order_relaxed); }
    /** False since the last read failed for the database being unavailable, until one works. */
    bool database_up() const { return database_up_.load(std::memory_order_relaxed); }
    void write_metrics(core::MetricWriter& writer) const;

private:
    struct Entry {
        CustomerPtr customer;
        std::chrono::steady_clock::time_point expires_at;
        /** When it was read (or last kept stale), for cap_ttl(). */
        std::chrono::steady_clock::time_point stored_at;
        /** Kept past its TTL because the database could not answer. */
        bool stale = false;
    };
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    using Entries = std::unordered_map<std::string, Entry, StringHash, std::equal_to<>>;

    using Finder = core::Result<std::optional<db::CustomerRecord>> (db::CustomerRepository::*)(
        std::string_view);

    /** Customers by one name (public key or host): the cached answers, the database query, and
     *  the reads in progress. */
    struct Index {
        Entries entries;
        Finder find;
        cache::SingleFlight<core::Result<CustomerPtr>> reads;
    };

    boost::asio::awaitable<core::Result<CustomerPtr>> read_through(Index& index,
                                                                   std::string_view name);
    std::optional<CustomerPtr> cached(const Entries& entries, std::string_view key) const;
    core::Result<CustomerPtr> load(Index& index, std::string_view key);
    core::Result<CustomerPtr> read(Index& index, std::string_view key);
    /** The expired entry for `key`, kept for STALE_RETRY more; nullopt when there is none. */
    std::optional<CustomerPtr> keep_stale(Entries& entries, std::string_view key);
    core::Result<CustomerPtr> config_of(std::optional<db::CustomerRecord> record);
    std::uint64_t current_generation() const;
    /** Below max_entries_ before an insert (under mutex_). */
    void make_room(Entries& entries, std::chrono::steady_clock::time_point now);
    /** Caches the answer unless an invalidation came since `generation` was read. */
    void remember(Entries& entries, std::string_view key, const CustomerPtr& customer,
                  std::uint64_t generation);

    db::Database& db_;
    boost::asio::thread_pool& blocking_pool_;
    const core::Clock& clock_;
    std::chrono::seconds ttl_;
    std::chrono::seconds negative_ttl_;
    std::uint32_t max_dimension_;
    std::size_t max_entries_;
    std::atomic<std::uint64_t> loads_{0};
    mutable std::atomic<std::uint64_t> stale_served_{0};
    std::atomic<bool> database_up_{true};
    /** cap_ttl() in milliseconds; 0 when not capped. */
    std::atomic<std::int64_t> ttl_cap_ms_{0};
    mutable std::mutex mutex_;
    /** Bumped by every invalidation (guarded by mutex_). */
    std::uint64_t generation_ = 0;
    Index by_key_{.find = &db::CustomerRepository::find_by_public_key};
    Index by_host_{.find = &db::CustomerRepository::find_by_custom_domain};
};

} // namespace cdn::edge
