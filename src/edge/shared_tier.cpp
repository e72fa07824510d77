#include "edge/shared_tier.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <type_traits>

#include "cache/portable_variant.h"
#include "edge/response.h"
#include "http/blocking.h"
#include "storage/shared_variants.h"

namespace cdn::edge {

namespace net = boost::asio;

namespace {

/** The lease of a shared object, beside the other KV keys. */
std::string lease_key(std::string_view object_key) { return "lease:" + std::string(object_key); }

/** The variant's name in the tier: the cache key's hash (after its last ':'). */
std::string_view variant_name(std::string_view cache_key) {
    return cache_key.substr(cache_key.rfind(':') + 1);
}

std::string object_key_of(const ImageUrl& url, std::string_view version,
                          std::string_view cache_key) {
    return storage::shared_variant_key(url.public_key, url.path, version, variant_name(cache_key))
        .value_or("");
}

} // namespace

class SharedTier::Lease {
public:
    Lease(SharedTier& tier, std::string object_key)
        : tier_(tier), object_key_(std::move(object_key)) {}
    ~Lease() { tier_.release(object_key_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

private:
    SharedTier& tier_;
    std::string object_key_;
};

/** One coroutine waiting for a holder's message: completed once, by the message or its timer.
 *  A message that comes before the coroutine has suspended is kept for it. */
struct SharedTier::Wake : std::enable_shared_from_this<Wake> {
    std::mutex mutex;
    std::function<void(bool)> complete; // set while suspended
    bool early = false;                 // the message came before `complete` was set

    void fire(bool notified) {
        std::function<void(bool)> done;
        {
            const std::lock_guard lock(mutex);
            if (!complete) {
                early = early || notified;
                return;
            }
            done = std::exchange(complete, nullptr);
        }
        done(notified);
    }
};

SharedTier::SharedTier(storage::BlobStore& store, kv::KvStore* cluster, const core::Clock& clock,
                       SharedTierConfig config)
    : store_(store), cluster_(cluster), clock_(clock), config_(std::move(config)) {
    if (cluster_ == nullptr) {
        return;
    }
    done_subscription_ = cluster_->subscribe(std::string(VARIANT_DONE_CHANNEL),
                                             [this](std::string_view key) { on_done(key); });
    renewer_ = std::thread([this] { renew_held_leases(); });
}

SharedTier::~SharedTier() {
    {
        const std::lock_guard lock(held_mutex_);
        stop_ = true;
    }
    stopping_.notify_all();
    if (renewer_.joinable()) {
        renewer_.join();
    }
    done_subscription_.reset();
    writer_.join();
    // Releases posted once the writer had stopped never ran: do them here.
    for (const auto& key : std::set<std::string>(held_)) {
        (void)cluster_->release_lease(key, config_.node_id);
    }
}

net::awaitable<SharedTier::Found> SharedTier::look_up(const ImageUrl& url,
                                                      const std::string& cache_key,
                                                      net::thread_pool& pool) {
    auto locate = [this, &url, &cache_key] { return locate_object(url, cache_key); };
    auto found = co_await http::run_blocking(pool, std::move(locate));
    if (found.object_key.empty()) {
        co_return found;
    }
    if (cluster_ == nullptr) {
        auto read_now = [this, &found, &cache_key] { return read(found.object_key, cache_key); };
        found.variant = co_await http::run_blocking(pool, std::move(read_now));
        co_return found;
    }
    co_return co_await join_cluster_flight(std::move(found), cache_key, pool);
}

SharedTier::Found SharedTier::locate_object(const ImageUrl& url, const std::string& cache_key) {
    // The original's version decides which object answers: a HEAD, far cheaper than the
    // original's bytes and a transform.
    auto original = store_.head(url.store_key());
    if (!original) {
        if (original.error().code != core::Errc::NotFound) {
            counters_.errors.fetch_add(1, std::memory_order_relaxed);
        }
        return {}; // the fetch step answers the 404 or the outage
    }
    return Found{.object_key = object_key_of(url, original->etag, cache_key)};
}

cache::VariantPtr SharedTier::read(const std::string& object_key, const std::string& cache_key) {
    auto object = store_.get(object_key);
    if (!object) {
        auto& counter =
            object.error().code == core::Errc::NotFound ? counters_.misses : counters_.errors;
        counter.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    auto decoded = cache::decode_portable(object->bytes, cache_key);
    if (!decoded) {
        spdlog::warn("shared variant {} unreadable: {}", object_key, decoded.error().detail);
        counters_.errors.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    counters_.hits.fetch_add(1, std::memory_order_relaxed);
    decoded->response_headers = variant_header_block(*decoded);
    return std::make_shared<const cache::CachedVariant>(std::move(*decoded));
}

net::awaitable<SharedTier::Found> SharedTier::join_cluster_flight(Found found,
                                                                  const std::string& cache_key,
                                                                  net::thread_pool& pool) {
    const auto give_up_at = clock_.steady_now() + config_.wait;
    // The lease first, then the object: a holder writes before it releases, so whoever gets
    // the lease after it sees its write (read first, a whole flight could fit in between).
    auto lease_then_read = [this, &found, &cache_key] {
        found.lease = try_lease(found.object_key);
        found.variant = read(found.object_key, cache_key);
    };
    for (bool waited = false;; waited = true) {
        // Watched before the lease is tried: a holder done in between is not missed.
        const Watch watch(*this, found.object_key);
        co_await http::run_blocking(pool, lease_then_read);
        if (found.variant) {
            found.lease.reset(); // nothing to make: let the next one have it
            co_return found;
        }
        if (found.lease) {
            co_return found;
        }
        if (!waited) {
            counters_.lease_waits.fetch_add(1, std::memory_order_relaxed);
        }
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(give_up_at -
                                                                       clock_.steady_now());
        if (left <= std::chrono::milliseconds::zero()) {
            counters_.waited_out.fetch_add(1, std::memory_order_relaxed);
            co_return found; // the holder is slow or stuck: transform without the lease
        }
        (void)co_await watch.wait(std::min(left, WAIT_SLICE));
    }
}

SharedTier::LeasePtr SharedTier::try_lease(const std::string& object_key) {
    auto taken = cluster_->acquire_lease(lease_key(object_key), config_.node_id, LEASE_TTL);
    if (taken && !*taken) {
        return nullptr;
    }
    if (!taken) {
        // Without Redis every edge transforms its own misses, as a single node does.
        counters_.errors.fetch_add(1, std::memory_order_relaxed);
    } else {
        const std::lock_guard lock(held_mutex_);
        held_.insert(lease_key(object_key));
    }
    return std::make_shared<Lease>(*this, object_key);
}

void SharedTier::release(const std::string& object_key) {
    // On the writer thread: a lease may go on an I/O thread (a failed transform), and these are
    // Redis calls. After the writes queued before it, so a waiter told finds the object.
    net::post(writer_, [this, object_key] {
        const auto key = lease_key(object_key);
        {
            const std::lock_guard lock(held_mutex_);
            if (held_.erase(key) == 0) {
                return; // never taken (Redis was unreachable): nobody waits on it
            }
        }
        (void)cluster_->release_lease(key, config_.node_id);
        (void)cluster_->publish(VARIANT_DONE_CHANNEL, object_key);
    });
}

SharedTier::Watch::Watch(SharedTier& tier, std::string object_key)
    : tier_(tier), object_key_(std::move(object_key)), wake_(std::make_shared<Wake>()) {
    const std::lock_guard lock(tier_.waiters_mutex_);
    tier_.waiters_.emplace(object_key_, wake_);
}

SharedTier::Watch::~Watch() {
    const std::lock_guard lock(tier_.waiters_mutex_);
    auto [first, last] = tier_.waiters_.equal_range(object_key_);
    for (auto it = first; it != last; ++it) {
        if (it->second == wake_) {
            tier_.waiters_.erase(it);
            return;
        }
    }
}

net::awaitable<bool> SharedTier::Watch::wait(std::chrono::milliseconds at_most) const {
    net::steady_timer timer(co_await net::this_coro::executor, at_most);
    // Raw pointers only: GCC 12 may destroy a by-value initiation twice (single_flight.h).
    auto initiation = [raw = wake_.get(), &timer](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto executor = net::get_associated_executor(*shared);
        bool early = false;
        {
            const std::lock_guard lock(raw->mutex);
            early = std::exchange(raw->early, false);
            raw->complete = [shared, executor](bool notified) {
                net::post(executor, [shared, notified]() mutable { (*shared)(notified); });
            };
        }
        timer.async_wait([wake = raw->shared_from_this()](auto) { wake->fire(false); });
        if (early) {
            raw->fire(true);
        }
    };
    static_assert(std::is_trivially_destructible_v<decltype(initiation)>);
    const bool notified = co_await net::async_initiate<decltype(net::use_awaitable), void(bool)>(
        initiation, net::use_awaitable);
    timer.cancel();
    co_return notified;
}

void SharedTier::on_done(std::string_view object_key) {
    std::vector<std::shared_ptr<Wake>> woken;
    {
        const std::lock_guard lock(waiters_mutex_);
        auto [first, last] = waiters_.equal_range(object_key);
        for (auto it = first; it != last; ++it) {
            woken.push_back(it->second);
        }
    }
    for (const auto& wake : woken) {
        wake->fire(true);
    }
}

void SharedTier::renew_held_leases() {
    std::unique_lock lock(held_mutex_);
    while (!stopping_.wait_for(lock, LEASE_TTL / 3, [this] { return stop_; })) {
        const std::set<std::string> held = held_;
        lock.unlock();
        for (const auto& key : held) {
            if (auto renewed = cluster_->renew_lease(key, config_.node_id, LEASE_TTL);
                renewed && !*renewed) {
                spdlog::warn("lost the lease {} (held past its TTL)", key);
            }
        }
        lock.lock();
    }
}

void SharedTier::write_later(const ImageUrl& url, Found found, const std::string& version,
                             cache::VariantPtr variant, std::function<bool()> purged) {
    if (found.object_key.empty() || variant->status != 200) {
        return; // not shared; the lease, if any, goes with this call and waiters take over
    }
    // Keyed by the original it was made of, which a replacement since look_up() may have
    // changed (its own object, then; the lease's waiters take over theirs).
    auto object_key = object_key_of(url, version, variant->key);
    if (object_key.empty()) {
        return;
    }
    if (queued_.fetch_add(1, std::memory_order_relaxed) >= config_.write_queue) {
        queued_.fetch_sub(1, std::memory_order_relaxed);
        counters_.dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    net::post(writer_, [this, object_key = std::move(object_key), variant = std::move(variant),
                        purged = std::move(purged), lease = std::move(found.lease)]() mutable {
        write(object_key, *variant, purged);
        lease.reset(); // released after the write, so its waiters find the object
        queued_.fetch_sub(1, std::memory_order_relaxed);
    });
}

void SharedTier::write(const std::string& object_key, const cache::CachedVariant& variant,
                       const std::function<bool()>& purged) {
    if (purged()) {
        return;
    }
    if (auto stored = store_.put(object_key, cache::encode_portable(variant)); !stored) {
        counters_.errors.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("shared variant {} not stored: {}", object_key, stored.error().message);
        return;
    }
    counters_.writes.fetch_add(1, std::memory_order_relaxed);
    // A purge that came during the write was applied by its publisher before this object
    // existed: undo the write, as TieredCache's _unless_purged puts do.
    if (purged()) {
        (void)store_.remove(object_key);
    }
}

void SharedTier::write_metrics(core::MetricWriter& writer) const {
    const auto count = [](const std::atomic<std::uint64_t>& c) {
        return static_cast<double>(c.load(std::memory_order_relaxed));
    };
    writer.family("imagecdn_shared_tier_lookups_total", "counter",
                  "Reads of the shared variant tier, by result.");
    writer.sample("imagecdn_shared_tier_lookups_total", R"(result="hit")", count(counters_.hits));
    writer.sample("imagecdn_shared_tier_lookups_total", R"(result="miss")",
                  count(counters_.misses));
    writer.single("imagecdn_shared_tier_errors_total", "counter",
                  "Shared tier or lease calls that failed (the edge then works alone).",
                  count(counters_.errors));
    writer.single("imagecdn_shared_tier_writes_total", "counter",
                  "Variants written to the shared tier.", count(counters_.writes));
    writer.single("imagecdn_shared_tier_writes_queued", "gauge",
                  "Shared writes waiting or in progress (a full queue drops new ones).",
                  static_cast<double>(queued_.load(std::memory_order_relaxed)));
    writer.single("imagecdn_shared_tier_writes_dropped_total", "counter",
                  "Shared writes dropped because the write queue was full.",
                  count(counters_.dropped));
    writer.single("imagecdn_cluster_flight_waits_total", "counter",
                  "Misses that found another node's lease and waited for its transform.",
                  count(counters_.lease_waits));
    writer.single("imagecdn_cluster_flight_waited_out_total", "counter",
                  "Waits that reached [cache] shared_wait_ms; the edge transformed itself.",
                  count(counters_.waited_out));
}

} // namespace cdn::edge
