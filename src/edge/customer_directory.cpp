#include "edge/customer_directory.h"

#include <spdlog/spdlog.h>

#include <functional>

#include "db/preset_repository.h"
#include "http/blocking.h"

namespace cdn::edge {
CustomerDirectory::CustomerDirectory(db::Database& db, boost::asio::thread_pool& blocking_pool,
                                     const core::Clock& clock, std::chrono::seconds ttl,
                                     std::chrono::seconds negative_ttl, std::uint32_t max_dimension,
                                     std::size_t max_entries)
    : db_(db), blocking_pool_(blocking_pool), clock_(clock), ttl_(ttl), negative_ttl_(negative_ttl),
      max_dimension_(max_dimension), max_entries_(std::max<std::size_t>(max_entries, 8)) {}

boost::asio::awaitable<core::Result<CustomerPtr>>
CustomerDirectory::find_by_key(std::string_view public_key) {
    return read_through(by_key_, public_key);
}

boost::asio::awaitable<core::Result<CustomerPtr>>
CustomerDirectory::find_by_host(std::string_view host) {
    return read_through(by_host_, host);
}

boost::asio::awaitable<core::Result<CustomerPtr>>
CustomerDirectory::read_through(Index& index, std::string_view name) {
    if (auto hit = cached(index.entries, name)) {
        co_return *hit;
    }
    // Concurrent misses for one name share one database read, on the blocking pool. Named
    // callables, never temporaries, go into coroutines (GCC 12 destroys those twice).
    std::string key(name);
    std::function<core::Result<CustomerPtr>()> read = [this, &index, key] {
        return load(index, key);
    };
    cache::SingleFlight<core::Result<CustomerPtr>>::Work flight = [this, &read] {
        return http::run_blocking(blocking_pool_, read);
    };
    co_return co_await index.reads.run(std::move(key), std::move(flight));
}

std::optional<CustomerPtr> CustomerDirectory::cached(const Entries& entries,
                                                     std::string_view key) const {
    std::lock_guard lock(mutex_);
    const auto it = entries.find(key);
    const auto now = clock_.steady_now();
    const std::chrono::milliseconds cap(ttl_cap_ms_.load(std::memory_order_relaxed));
    if (it == entries.end() || it->second.expires_at <= now ||
        (cap.count() > 0 && it->second.stored_at + cap <= now)) {
        return std::nullopt;
    }
    if (it->second.stale) {
        stale_served_.fetch_add(1, std::memory_order_relaxed);
    }
    return it->second.customer;
}

std::optional<CustomerPtr> CustomerDirectory::cached_by_key(std::string_view public_key) const {
    return cached(by_key_.entries, public_key);
}

std::optional<CustomerPtr> CustomerDirectory::cached_by_host(std::string_view host) const {
    return cached(by_host_.entries, host);
}

core::Result<CustomerPtr> CustomerDirectory::load_by_key(std::string_view public_key) {
    return load(by_key_, public_key);
}

core::Result<CustomerPtr> CustomerDirectory::load_by_host(std::string_view host) {
    return load(by_host_, host);
}

core::Result<CustomerPtr> CustomerDirectory::load(Index& index, std::string_view key) {
    auto loaded = read(index, key);
    const bool unreachable = !loaded && db::is_database_unavailable(loaded.error());
    database_up_.store(!unreachable, std::memory_order_relaxed);
    if (unreachable) {
        if (auto stale = keep_stale(index.entries, key)) {
            spdlog::warn("customer config {} served stale: {}", key, loaded.error().detail);
            return *stale;
        }
    }
    return loaded;
}

std::optional<CustomerPtr> CustomerDirectory::keep_stale(Entries& entries, std::string_view key) {
    std::lock_guard lock(mutex_);
    const auto it = entries.find(key);
    if (it == entries.end()) {
        return std::nullopt;
    }
    it->second.stale = true;
    it->second.stored_at = clock_.steady_now();
    it->second.expires_at = it->second.stored_at + STALE_RETRY;
    stale_served_.fetch_add(1, std::memory_order_relaxed);
    return it->second.customer;
}

core::Result<CustomerPtr> CustomerDirectory::read(Index& index, std::string_view key) {
    loads_.fetch_add(1, std::memory_order_relaxed);
    const auto generation = current_generation();
    db::CustomerRepository customers(db_);
    CDN_TRY(record, (customers.*index.find)(key));
    CDN_TRY(config, config_of(std::move(record)));
    remember(index.entries, key, config, generation);
    return config;
}

core::Result<CustomerPtr> CustomerDirectory::config_of(std::optional<db::CustomerRecord> record) {
    if (!record) {
        return CustomerPtr{};
    }
    auto config = std::make_shared<CustomerConfig>();
    auto settings = account::parse_settings(record->settings_json);
    if (!settings) {
        // Fail closed: serving without the customer's allowlist or signing rule would be worse
        // than not serving. Settings are validated when written, so this is a damaged row.
        return core::make_error(core::Errc::Internal, "the customer's settings are unreadable",
                                record->public_key + ": " + settings.error().message);
    }
    config->settings = std::move(*settings);
    config->cache_control = account::cache_control_for(config->settings);
    CDN_TRY(presets, db::PresetRepository(db_).list(record->id));
    for (const auto& preset : presets) {
        auto options = transform::parse_preset_options(preset.options, max_dimension_);
        if (!options) {
            // Validated when written; a preset made invalid by a lower server limit is left out
            // (requests naming it get unknown_preset) rather than failing every request.
            spdlog::warn("preset {} of {} skipped: {}", preset.name, record->public_key,
                         options.error().message);
            continue;
        }
        config->presets.emplace(preset.name, std::move(*options));
    }
    config->record = std::move(*record);
    return CustomerPtr(std::move(config));
}

std::uint64_t CustomerDirectory::current_generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
}

void CustomerDirectory::remember(Entries& entries, std::string_view key,
                                 const CustomerPtr& customer, std::uint64_t generation) {
    const auto ttl = customer ? ttl_ : negative_ttl_;
    std::lock_guard lock(mutex_);
    if (generation != generation_) {
        // An invalidation came while this was read: the row may predate the change, so it is
        // used for this request only and the next one reads again.
        return;
    }
    const auto now = clock_.steady_now();
    make_room(entries, now);
    entries.insert_or_assign(
        std::string(key), Entry{.customer = customer, .expires_at = now + ttl, .stored_at = now});
}

void CustomerDirectory::make_room(Entries& entries, std::chrono::steady_clock::time_point now) {
    if (entries.size() < max_entries_) {
        return;
    }
    // Not clear(): with as many live customers as the bound, every one would be read again.
    // Expired entries go first, then any, down to 7/8 of the bound, so that this O(n) sweep
    // runs at most once per max_entries_/8 inserts.
    std::erase_if(entries, [now](const auto& entry) { return entry.second.expires_at <= now; });
    for (auto it = entries.begin(); it != entries.end() && entries.size() > max_entries_ / 8 * 7;) {
        it = entries.erase(it);
    }
}

void CustomerDirectory::invalidate(std::string_view public_key) {
    std::lock_guard lock(mutex_);
    ++generation_;
    if (const auto it = by_key_.entries.find(public_key); it != by_key_.entries.end()) {
        by_key_.entries.erase(it);
    }
    // The change may have added a custom domain, so unknown hosts go too. The map is keyed by
    // host: changes are rare, a scan is fine.
    std::erase_if(by_host_.entries, [public_key](const auto& entry) {
        return !entry.second.customer || entry.second.customer->record.public_key == public_key;
    });
}

void CustomerDirectory::cap_ttl(std::optional<std::chrono::seconds> cap) {
    const auto ms = cap ? std::chrono::duration_cast<std::chrono::milliseconds>(*cap).count() : 0;
    ttl_cap_ms_.store(cap ? std::max<std::int64_t>(ms, 1) : 0, std::memory_order_relaxed);
}

void CustomerDirectory::invalidate_all() {
    std::lock_guard lock(mutex_);
    ++generation_;
    by_key_.entries.clear();
    by_host_.entries.clear();
}

void CustomerDirectory::write_metrics(core::MetricWriter& writer) const {
    writer.single("imagecdn_customer_config_loads_total", "counter",
                  "Customer config reads from the database (cache misses).",
                  static_cast<double>(loads()));
    writer.single("imagecdn_config_stale_served_total", "counter",
                  "Requests served with a customer config past its TTL because the database "
                  "could not answer.",
                  static_cast<double>(stale_served()));
    writer.single("imagecdn_config_database_up", "gauge",
                  "0 while customer config reads fail for the database being unavailable.",
                  database_up() ? 1.0 : 0.0);
}

} // namespace cdn::edge
