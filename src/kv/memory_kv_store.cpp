#include "kv/memory_kv_store.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace cdn::kv {

namespace {

core::Error invalid_argument(std::string detail) {
    return core::make_error(core::Errc::Internal, "kv error", std::move(detail));
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

} // namespace cdn::kv
