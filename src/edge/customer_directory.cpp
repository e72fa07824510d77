#include "edge/customer_directory.h"

#include <spdlog/spdlog.h>

#include "db/preset_repository.h"

namespace cdn::edge {
namespace {
// Bounds the memory that a stream of random keys or hosts can take.
constexpr std::size_t MAX_ENTRIES = 100'000;
} // namespace

CustomerDirectory::CustomerDirectory(db::Database& db, const core::Clock& clock,
                                     std::chrono::seconds ttl, std::chrono::seconds negative_ttl,
                                     std::uint32_t max_dimension)
    : db_(db), clock_(clock), ttl_(ttl), negative_ttl_(negative_ttl),
      max_dimension_(max_dimension) {}

std::optional<CustomerPtr> CustomerDirectory::cached(const Entries& entries,
                                                     std::string_view key) const {
    std::lock_guard lock(mutex_);
    const auto it = entries.find(key);
    if (it == entries.end() || it->second.expires_at <= clock_.steady_now()) {
        return std::nullopt;
    }
    return it->second.customer;
}

std::optional<CustomerPtr> CustomerDirectory::cached_by_key(std::string_view public_key) const {
    return cached(by_key_, public_key);
}

std::optional<CustomerPtr> CustomerDirectory::cached_by_host(std::string_view host) const {
    return cached(by_host_, host);
}

core::Result<CustomerPtr> CustomerDirectory::load_by_key(std::string_view public_key) {
    return load(by_key_, public_key, &db::CustomerRepository::find_by_public_key);
}

core::Result<CustomerPtr> CustomerDirectory::load_by_host(std::string_view host) {
    return load(by_host_, host, &db::CustomerRepository::find_by_custom_domain);
}

core::Result<CustomerPtr> CustomerDirectory::load(Entries& entries, std::string_view key,
                                                  Finder find) {
    loads_.fetch_add(1, std::memory_order_relaxed);
    const auto generation = current_generation();
    db::CustomerRepository customers(db_);
    CDN_TRY(record, (customers.*find)(key));
    CDN_TRY(config, config_of(std::move(record)));
    remember(entries, key, config, generation);
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
    if (entries.size() >= MAX_ENTRIES) {
        entries.clear();
    }
    entries.insert_or_assign(std::string(key), Entry{customer, clock_.steady_now() + ttl});
}

void CustomerDirectory::invalidate(std::string_view public_key) {
    std::lock_guard lock(mutex_);
    ++generation_;
    if (const auto it = by_key_.find(public_key); it != by_key_.end()) {
        by_key_.erase(it);
    }
    // The change may have added a custom domain, so unknown hosts go too. The map is keyed by
    // host: changes are rare, a scan is fine.
    std::erase_if(by_host_, [public_key](const auto& entry) {
        return !entry.second.customer || entry.second.customer->record.public_key == public_key;
    });
}

void CustomerDirectory::invalidate_all() {
    std::lock_guard lock(mutex_);
    ++generation_;
    by_key_.clear();
    by_host_.clear();
}

} // namespace cdn::edge
