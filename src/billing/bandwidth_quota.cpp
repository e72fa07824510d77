#include "billing/bandwidth_quota.h"

namespace cdn::billing {
namespace {

QuotaDecision decide(std::int64_t used, const account::Plan& plan) {
    // Compared unsigned so that a quota beyond int64 is simply never reached.
    const bool over = used >= 0 && static_cast<std::uint64_t>(used) >= plan.bandwidth_quota_bytes;
    return {
        .allowed = !(over && plan.over_quota == "block"), .over_quota = over, .used_bytes = used};
}

constexpr std::int64_t SECONDS_PER_DAY = 86'400;

} // namespace

std::int64_t month_start(std::int64_t unix_seconds) {
    using namespace std::chrono;
    const sys_days day = floor<days>(sys_seconds(seconds(unix_seconds)));
    const year_month_day date(day);
    const sys_days first = date.year() / date.month() / 1;
    return first.time_since_epoch().count() * SECONDS_PER_DAY;
}

BandwidthQuota::BandwidthQuota(db::UsageRepository& usage, usage::UsageRecorder& recorder,
                               const core::Clock& clock, std::chrono::seconds refresh_interval,
                               std::size_t max_entries)
    : usage_(usage), recorder_(recorder), clock_(clock), refresh_interval_(refresh_interval),
      max_entries_(max_entries) {}

std::optional<QuotaDecision> BandwidthQuota::check(std::string_view customer_id,
                                                   const account::Plan& plan) const {
    const std::int64_t month = month_start(clock_.unix_seconds());
    const auto now = clock_.steady_now();
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(customer_id);
    if (it == entries_.end() || it->second.month != month || !fresh(it->second, now)) {
        return std::nullopt;
    }
    const Entry& e = it->second;
    return decide(e.base + e.added - e.base_mark, plan);
}

QuotaLookup BandwidthQuota::look_up(std::string_view customer_id, const account::Plan& plan) {
    const std::int64_t month = month_start(clock_.unix_seconds());
    const auto now = clock_.steady_now();
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(customer_id);
    if (it == entries_.end() || it->second.month != month || !it->second.has_figure) {
        return {.decision = std::nullopt, .refresh = true};
    }
    Entry& e = it->second;
    const QuotaDecision decision = decide(e.base + e.added - e.base_mark, plan);
    if (fresh(e, now) || now - e.background_since < refresh_interval_) {
        return {.decision = decision, .refresh = false};
    }
    e.background_since = now;
    return {.decision = decision, .refresh = true};
}

core::Result<QuotaDecision> BandwidthQuota::refresh(std::string_view customer_id,
                                                    const account::Plan& plan) {
    const std::int64_t month = month_start(clock_.unix_seconds());
    const Mark mark = begin_refresh(customer_id, month);
    // Pending first, then the database: a flush committing in between is then counted twice
    // until the next refresh, rather than not at all (UsageRecorder::pending_bytes).
    const std::int64_t pending = recorder_.pending_bytes(customer_id, month);
    const std::int64_t next_month = month_start(month + 32 * SECONDS_PER_DAY);
    CDN_TRY(stored, usage_.sum_bytes_out(customer_id, month, next_month));
    return finish_refresh(customer_id, plan, month, mark, stored + pending);
}

void BandwidthQuota::add(std::string_view customer_id, std::int64_t bytes) {
    const std::lock_guard lock(mutex_);
    // Not cached (or last month's): the next refresh finds these bytes in the recorder.
    if (const auto it = entries_.find(customer_id); it != entries_.end()) {
        it->second.added += bytes;
    }
}

std::uint64_t BandwidthQuota::refreshes() const {
    const std::lock_guard lock(mutex_);
    return refreshes_;
}

BandwidthQuota::Mark BandwidthQuota::begin_refresh(std::string_view customer_id,
                                                   std::int64_t month) {
    // The entry exists from here on, so that bytes add()ed during the database read count on
    // top of the figure. An add() after this mark whose record() preceded the pending read is
    // counted twice: only responses between the two calls in the microseconds up to that
    // in-memory read, and the next refresh corrects it.
    const std::lock_guard lock(mutex_);
    ++refreshes_;
    const Entry& e = entry_for(customer_id, month);
    return {e.generation, e.added};
}

QuotaDecision BandwidthQuota::finish_refresh(std::string_view customer_id,
                                             const account::Plan& plan, std::int64_t month,
                                             Mark mark, std::int64_t base) {
    const std::lock_guard lock(mutex_);
    Entry& e = entry_for(customer_id, month);
    if (e.generation != mark.generation) {
        // Evicted or reset meanwhile: adds to the new incarnation may predate the pending
        // read, so count only those from now on (a loss of at most that short window).
        mark.added = e.added;
    } else if (e.has_figure && mark.added < e.base_mark) {
        // A refresh that started later has already landed and has seen more; keep it.
        return decide(e.base + e.added - e.base_mark, plan);
    }
    e.has_figure = true;
    e.base = base;
    e.base_mark = mark.added;
    e.refreshed_at = clock_.steady_now();
    return decide(e.base + e.added - e.base_mark, plan);
}

BandwidthQuota::Entry& BandwidthQuota::entry_for(std::string_view customer_id,
                                                 std::int64_t month) {
    auto it = entries_.find(customer_id);
    if (it == entries_.end()) {
        make_room();
        it = entries_.emplace(std::string(customer_id), Entry{}).first;
    } else if (it->second.month == month) {
        return it->second;
    }
    // New, or another month's: each month starts from zero.
    it->second = Entry{.generation = ++generations_, .month = month};
    return it->second;
}

void BandwidthQuota::make_room() {
    if (entries_.size() < max_entries_) {
        return;
    }
    // Stale entries answer nothing anyway. If too few are stale, clear all rather than scan
    // again on the next insert: a burst of refreshes, but the work stays bounded.
    const auto now = clock_.steady_now();
    std::erase_if(entries_, [&](const auto& kv) { return !fresh(kv.second, now); });
    if (entries_.size() >= max_entries_ - max_entries_ / 4) {
        entries_.clear();
    }
}

bool BandwidthQuota::fresh(const Entry& entry, std::chrono::steady_clock::time_point now) const {
    return entry.has_figure && now - entry.refreshed_at < refresh_interval_;
}

} // namespace cdn::billing
