#include "kv/memory_kv_store.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace cdn::kv {

namespace {

core::Error invalid_argument(std::string detail) {
    return core::make_error(core::Errc::Internal, "kv error", std::move(detail));
}

core::Result<void> require_positive(std::chrono::milliseconds ttl, std::string_view operation) {
    if (ttl <= std::chrono::milliseconds::zero()) {
        return invalid_argument(std::string(operation) + ": ttl must be positive");
    }
    return {};
}

} // namespace

MemoryKvStore::MemoryKvStore(const core::Clock& clock, MemoryKvConfig config)
    : clock_(clock), shard_count_(std::clamp<std::size_t>(
                         config.shards, 1, std::max<std::size_t>(config.max_keys, 1))),
      shard_capacity_(std::max<std::size_t>(config.max_keys / shard_count_, 1)),
      shards_(std::make_unique<Shard[]>(shard_count_)), channels_(LocalChannels::create()) {}

MemoryKvStore::~MemoryKvStore() = default;

core::Result<std::int64_t> MemoryKvStore::increment(std::string_view key, std::int64_t delta,
                                                    std::chrono::milliseconds ttl) {
    if (ttl <= std::chrono::milliseconds::zero()) {
        return invalid_argument("increment: ttl must be positive");
    }
    const auto now = clock_.steady_now();
    amortised_sweep(now);
    Shard& shard = shard_for(key);
    const std::lock_guard lock(shard.mutex);
    sweep(shard, now, SWEEP_BATCH);
    auto it = find_live(shard, key, now);
    if (it == shard.counters.end()) {
        make_room(shard, now);
        it = shard.counters.emplace(std::string(key), Counter{delta, {}}).first;
        it->second.expiry = shard.expiries.emplace(now + ttl, it->first);
        return delta;
    }
    std::int64_t sum = 0;
    if (__builtin_add_overflow(it->second.value, delta, &sum)) {
        return invalid_argument("increment: counter overflow");
    }
    it->second.value = sum;
    return sum;
}

core::Result<std::optional<std::int64_t>> MemoryKvStore::get_counter(std::string_view key) {
    const auto now = clock_.steady_now();
    amortised_sweep(now);
    Shard& shard = shard_for(key);
    const std::lock_guard lock(shard.mutex);
    sweep(shard, now, SWEEP_BATCH);
    auto it = find_live(shard, key, now);
    if (it == shard.counters.end()) {
        return std::optional<std::int64_t>{};
    }
    return std::optional<std::int64_t>{it->second.value};
}

core::Result<void> MemoryKvStore::publish(std::string_view channel, std::string_view message) {
    channels_->deliver(channel, message);
    return {};
}

Subscription MemoryKvStore::subscribe(std::string channel, MessageHandler handler) {
    return channels_->add(std::move(channel), std::move(handler));
}

std::size_t MemoryKvStore::entries() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        const std::lock_guard lock(shards_[i].mutex);
        total += shards_[i].counters.size();
    }
    return total;
}

MemoryKvStore::Shard& MemoryKvStore::shard_for(std::string_view key) {
    return shards_[StringHash{}(key) % shard_count_];
}

void MemoryKvStore::amortised_sweep(TimePoint now) {
    // Without this, a shard whose keys are never touched again would keep its expired
    // counters until the key cap pushed them out.
    const auto n = accesses_.fetch_add(1, std::memory_order_relaxed);
    if (n % SWEEP_EVERY != 0) {
        return;
    }
    Shard& shard = shards_[(n / SWEEP_EVERY) % shard_count_];
    const std::lock_guard lock(shard.mutex);
    sweep(shard, now, SWEEP_BATCH);
}

void MemoryKvStore::sweep(Shard& shard, TimePoint now, std::size_t limit) {
    for (; limit > 0 && !shard.expiries.empty(); --limit) {
        const auto soonest = shard.expiries.begin();
        if (soonest->first > now) {
            return;
        }
        erase(shard, shard.counters.find(soonest->second));
    }
}

void MemoryKvStore::erase(Shard& shard, Counters::iterator it) {
    // The expiry entry first: it views the key that erasing the counter frees.
    shard.expiries.erase(it->second.expiry);
    shard.counters.erase(it);
}

MemoryKvStore::Counters::iterator MemoryKvStore::find_live(Shard& shard, std::string_view key,
                                                           TimePoint now) {
    auto it = shard.counters.find(key);
    if (it != shard.counters.end() && it->second.expiry->first <= now) {
        erase(shard, it);
        return shard.counters.end();
    }
    return it;
}

void MemoryKvStore::make_room(Shard& shard, TimePoint now) const {
    if (shard.counters.size() < shard_capacity_) {
        return;
    }
    sweep(shard, now, std::numeric_limits<std::size_t>::max());
    if (shard.counters.size() >= shard_capacity_) {
        erase(shard, shard.counters.find(shard.expiries.begin()->second));
    }
}

core::Result<std::int64_t> MemoryKvStore::append_log(std::string_view key,
                                                     std::string_view message,
                                                     std::size_t max_entries,
                                                     std::chrono::milliseconds ttl) {
    if (ttl <= std::chrono::milliseconds::zero() || max_entries == 0) {
        return core::make_error(core::Errc::Internal, "kv error",
                                "append_log: ttl and max_entries must be positive");
    }
    const auto now = clock_.steady_now();
    const std::lock_guard lock(logs_mutex_);
    drop_expired_logs(now);
    auto& log = logs_[std::string(key)];
    log.entries.push_back({++log.last_sequence, std::string(message)});
    while (log.entries.size() > max_entries) {
        log.entries.pop_front();
    }
    log.entries_expiry = now + ttl;
    log.expiry = now + ttl * LOG_SEQUENCE_LIFETIME;
    return log.last_sequence;
}

core::Result<LogTail> MemoryKvStore::read_log(std::string_view key, std::int64_t after_sequence) {
    const std::lock_guard lock(logs_mutex_);
    drop_expired_logs(clock_.steady_now());
    const auto it = logs_.find(key);
    if (it == logs_.end()) {
        return tail_after({}, 0, after_sequence);
    }
    return tail_after({it->second.entries.begin(), it->second.entries.end()},
                      it->second.last_sequence, after_sequence);
}

void MemoryKvStore::drop_expired_logs(TimePoint now) {
    std::erase_if(logs_, [now](const auto& log) { return log.second.expiry <= now; });
    for (auto& [key, log] : logs_) {
        if (log.entries_expiry <= now) {
            log.entries.clear();
        }
    }
}

core::Result<void> MemoryKvStore::put_value(std::string_view key, std::string_view value,
                                            std::chrono::milliseconds ttl) {
    CDN_TRY_VOID(require_positive(ttl, "put_value"));
    const auto now = clock_.steady_now();
    const std::lock_guard lock(values_mutex_);
    sweep_values(now);
    values_.insert_or_assign(std::string(key), Value{std::string(value), now + ttl});
    return {};
}

core::Result<std::vector<KeyValue>> MemoryKvStore::values_with_prefix(std::string_view prefix) {
    const auto now = clock_.steady_now();
    const std::lock_guard lock(values_mutex_);
    std::vector<KeyValue> found;
    for (auto it = values_.lower_bound(prefix);
         it != values_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
        if (it->second.expiry > now) {
            found.push_back({it->first, it->second.value});
        }
    }
    return found;
}

core::Result<bool> MemoryKvStore::acquire_lease(std::string_view key, std::string_view holder,
                                                std::chrono::milliseconds ttl) {
    CDN_TRY_VOID(require_positive(ttl, "acquire_lease"));
    const auto now = clock_.steady_now();
    const std::lock_guard lock(values_mutex_);
    if (find_live_value(key, now) != values_.end()) {
        return false;
    }
    sweep_values(now);
    values_.emplace(std::string(key), Value{std::string(holder), now + ttl});
    return true;
}

core::Result<bool> MemoryKvStore::renew_lease(std::string_view key, std::string_view holder,
                                              std::chrono::milliseconds ttl) {
    CDN_TRY_VOID(require_positive(ttl, "renew_lease"));
    const auto now = clock_.steady_now();
    const std::lock_guard lock(values_mutex_);
    const auto it = find_held(key, holder, now);
    if (it == values_.end()) {
        return false;
    }
    it->second.expiry = now + ttl;
    return true;
}

core::Result<bool> MemoryKvStore::release_lease(std::string_view key, std::string_view holder) {
    const std::lock_guard lock(values_mutex_);
    const auto it = find_held(key, holder, clock_.steady_now());
    if (it == values_.end()) {
        return false;
    }
    values_.erase(it);
    return true;
}

MemoryKvStore::Values::iterator MemoryKvStore::find_live_value(std::string_view key,
                                                               TimePoint now) {
    auto it = values_.find(key);
    if (it != values_.end() && it->second.expiry <= now) {
        values_.erase(it);
        return values_.end();
    }
    return it;
}

MemoryKvStore::Values::iterator MemoryKvStore::find_held(std::string_view key,
                                                         std::string_view holder, TimePoint now) {
    const auto it = find_live_value(key, now);
    return it != values_.end() && it->second.value == holder ? it : values_.end();
}

void MemoryKvStore::sweep_values(TimePoint now) {
    if (values_.size() < next_value_sweep_) {
        return;
    }
    std::erase_if(values_, [now](const auto& entry) { return entry.second.expiry <= now; });
    next_value_sweep_ = std::max<std::size_t>(64, values_.size() * 2);
}

} // namespace cdn::kv
