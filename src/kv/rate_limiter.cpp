#include "kv/rate_limiter.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include <spdlog/spdlog.h>

namespace cdn::kv {
namespace {

constexpr std::int64_t MILLIS_PER_SECOND = 1000;
/** How old the other nodes' part of a reconciliation's answer may already be: they flushed at
 *  their own last pass, up to an interval earlier. Taking the most (half an interval is the
 *  average) errs towards the limit: measured, it keeps 2 to 4 nodes within ±4% where the
 *  average let 4 nodes overshoot by 5%. */
constexpr std::int64_t PROJECTION_LAG_MS = RateLimiter::RECONCILE_INTERVAL.count();

// The weight of the previous window `millis_into_second` into the current one.
double previous_weight(std::int64_t millis_into_second) {
    return static_cast<double>(MILLIS_PER_SECOND - millis_into_second) / MILLIS_PER_SECOND;
}

// The first millisecond of a second at which `previous * weight < budget`, or a full second
// when that never happens within it.
std::int64_t first_millis_below(double budget, double previous) {
    if (budget <= 0) {
        return MILLIS_PER_SECOND;
    }
    if (previous < budget) {
        return 0;
    }
    // previous * (1000 - t) / 1000 < budget  <=>  t > 1000 * (1 - budget / previous)
    const double t = MILLIS_PER_SECOND * (1.0 - budget / previous);
    return static_cast<std::int64_t>(std::floor(t)) + 1;
}

constexpr std::string_view KEY_PREFIX = "ratelimit:";

/** A counter key built on the stack, so the hit path allocates nothing for it. */
class CounterKey {
public:
    CounterKey(std::string_view public_key, std::int64_t unix_second) {
        constexpr std::size_t LONGEST_SECOND = 20;
        if (KEY_PREFIX.size() + public_key.size() + 1 + LONGEST_SECOND > inline_.size()) {
            heap_.append(KEY_PREFIX).append(public_key).append(":").append(
                std::to_string(unix_second));
            view_ = heap_;
            return;
        }
        char* out = std::copy(KEY_PREFIX.begin(), KEY_PREFIX.end(), inline_.data());
        out = std::copy(public_key.begin(), public_key.end(), out);
        *out++ = ':';
        out = std::to_chars(out, inline_.data() + inline_.size(), unix_second).ptr;
        view_ = std::string_view(inline_.data(), static_cast<std::size_t>(out - inline_.data()));
    }
    CounterKey(const CounterKey&) = delete;
    CounterKey& operator=(const CounterKey&) = delete;

    std::string_view view() const { return view_; }

private:
    std::array<char, 128> inline_{};
    std::string heap_;
    std::string_view view_;
};

/** This node's view of the client's part of the customer's demand (none without a table). */
Share assess_share(ClientShareTables::Table* table, ClientId client, std::int64_t second,
                   std::int64_t millis_into_second, double limit) {
    if (table == nullptr) {
        return {};
    }
    const std::lock_guard lock(table->mutex);
    return table->shares.assess(client, second, previous_weight(millis_into_second), limit);
}

void take_back_share(ClientShareTables::Table* table, ClientId client, std::int64_t second) {
    if (table != nullptr) {
        const std::lock_guard lock(table->mutex);
        table->shares.take_back(client, second);
    }
}

} // namespace

std::string rate_limit_key(std::string_view public_key, std::int64_t unix_second) {
    return std::string(CounterKey(public_key, unix_second).view());
}

core::Result<RateDecision> RateLimiter::check(std::string_view public_key,
                                              std::uint64_t limit_rps, ClientId client) {
    const std::int64_t now_ms = clock_.unix_millis();
    const std::int64_t second = now_ms / MILLIS_PER_SECOND;
    const std::int64_t into = now_ms % MILLIS_PER_SECOND;
    // Degraded: no news from the other nodes, so each keeps to its part of the limit.
    const bool alone = degraded();
    const double limit = static_cast<double>(limit_rps) / (alone ? expected_nodes_ : 1);

    const auto table = shares_.table_for(public_key, second);
    const auto share = assess_share(table.get(), client, second, into, limit);
    if (share.kind == Share::Kind::OverShare) {
        // Refused on the client's own counts: a flood does not even take the customer's lock.
        return reject(share.fair_share,
                      {static_cast<double>(share.admitted.current),
                       static_cast<double>(share.admitted.previous)},
                      into);
    }
    const double allowed_below =
        share.kind == Share::Kind::Light ? limit + light_slack(limit) : limit;

    const auto window = windows_.find_or_create(public_key);
    SlidingCount count;
    {
        const std::lock_guard lock(window->mutex);
        window->advance(second);
        window->requested_second = second;
        const auto others = alone ? SlidingCount{} : window->others_at(now_ms, PROJECTION_LAG_MS);
        const auto own = window->own_count();
        count = {own.current + others.current, own.previous + others.previous};
        if (count.at(previous_weight(into)) < allowed_below) {
            ++window->own.current; // judged and counted under one lock: exact on this node
            return RateDecision{true, std::chrono::milliseconds(0)};
        }
    }
    take_back_share(table.get(), client, second);
    return reject(allowed_below, count, into);
}

RateDecision RateLimiter::reject(double limit, SlidingCount count,
                                 std::int64_t millis_into_second) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    std::int64_t wait = 0;
    if (count.current < limit) {
        // Rejected only for the previous window's weight, which fades as this second goes on.
        wait = first_millis_below(limit - count.current, count.previous) - millis_into_second;
    } else {
        // This second is spent; in the next one its count is the fading previous window.
        wait = (MILLIS_PER_SECOND - millis_into_second) + first_millis_below(limit, count.current);
    }
    // Clamped: Retry-After is a hint in whole seconds, and one second always changes windows.
    wait = std::clamp<std::int64_t>(wait, 1, MILLIS_PER_SECOND);
    return RateDecision{false, std::chrono::milliseconds(wait)};
}

/** One customer's part of a reconciliation pass. */
struct RateLimiter::PassEntry {
    std::shared_ptr<CustomerWindow> window;
    Unflushed taken;
    bool read_previous = false;
};

core::Result<void> RateLimiter::reconcile() {
    const std::lock_guard pass(reconcile_mutex_);
    const std::int64_t now_ms = clock_.unix_millis();
    std::vector<PassEntry> entries;
    std::vector<CounterDelta> deltas;
    for (auto& [public_key, window] : windows_.snapshot()) {
        entries.push_back(take_for_pass(public_key, std::move(window), now_ms, deltas));
    }
    if (deltas.empty()) {
        return {};
    }
    // One batch for every customer: with Redis, one pipelined round trip per pass.
    store_operations_.fetch_add(deltas.size(), std::memory_order_relaxed);
    const auto totals = store_.increment_all(deltas);
    windows_.sweep(now_ms / MILLIS_PER_SECOND); // also while degraded: bounded either way
    if (!totals) {
        // Not counted by the store: flushed again by the next pass (a batch cut short may have
        // counted some already: the window is then stricter, never looser, until it ends).
        for (auto& entry : entries) {
            const std::lock_guard lock(entry.window->mutex);
            entry.window->restore(entry.taken, true, true);
        }
        set_degraded(true, totals.error().message);
        return totals.error();
    }
    apply_pass(entries, *totals, now_ms);
    set_degraded(false, {});
    return {};
}

RateLimiter::PassEntry RateLimiter::take_for_pass(std::string_view public_key,
                                                  std::shared_ptr<CustomerWindow> window,
                                                  std::int64_t now_ms,
                                                  std::vector<CounterDelta>& deltas) {
    PassEntry entry{.window = std::move(window)};
    {
        const std::lock_guard lock(entry.window->mutex);
        entry.window->advance(now_ms / MILLIS_PER_SECOND);
        entry.taken = entry.window->take_unflushed();
        // The previous window still grows while the other nodes flush its last moments (up to
        // an interval after it ended); a node new to the customer has not read it yet.
        entry.read_previous = entry.taken.previous > 0 || entry.window->synced_at_ms == 0 ||
                              now_ms % MILLIS_PER_SECOND < 2 * RECONCILE_INTERVAL.count();
    }
    // An increment by 0 reads the counter (creating it, empty, with its TTL) in the same batch.
    deltas.push_back({rate_limit_key(public_key, entry.taken.second), entry.taken.current,
                      COUNTER_TTL});
    if (entry.read_previous) {
        deltas.push_back({rate_limit_key(public_key, entry.taken.second - 1),
                          entry.taken.previous, COUNTER_TTL});
    }
    return entry;
}

void RateLimiter::apply_pass(const std::vector<PassEntry>& entries,
                             const std::vector<std::int64_t>& totals, std::int64_t now_ms) {
    std::size_t next = 0;
    for (const auto& entry : entries) {
        GlobalTotals global{.second = entry.taken.second, .current = totals.at(next++)};
        if (entry.read_previous) {
            global.previous = totals.at(next++);
        }
        const std::lock_guard lock(entry.window->mutex);
        entry.window->apply(global, now_ms);
    }
}

void RateLimiter::set_degraded(bool degraded, std::string_view why) {
    if (degraded_.exchange(degraded, std::memory_order_relaxed) == degraded) {
        return; // logged once per change of state, not once per pass
    }
    if (degraded) {
        spdlog::warn("rate limits are per node (limit / {}) until the KV store answers: {}",
                     expected_nodes_, why);
    } else {
        spdlog::info("rate limits are global again: the KV store answers");
    }
}

void RateLimiter::write_metrics(core::MetricWriter& writer) const {
    writer.single("imagecdn_rate_limited_total", "counter", "Requests refused by rate limits.",
                  static_cast<double>(rejected()));
    writer.single("imagecdn_rate_limit_store_operations_total", "counter",
                  "KV store operations issued by the rate limiter's reconciliation.",
                  static_cast<double>(store_operations()));
    writer.single("imagecdn_rate_limit_degraded", "gauge",
                  "1 while rate limits are per node because the KV store does not answer.",
                  degraded() ? 1.0 : 0.0);
}

} // namespace cdn::kv
