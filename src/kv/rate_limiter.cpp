#include "kv/rate_limiter.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace cdn::kv {
namespace {

constexpr std::int64_t MILLIS_PER_SECOND = 1000;

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
    const double limit = static_cast<double>(limit_rps);

    const auto table = shares_.table_for(public_key, second);
    const auto share = assess_share(table.get(), client, second, into, limit);
    if (share.kind == Share::Kind::OverShare) {
        // Refused on this node's counts alone: a flooding client costs no store round trip.
        return reject(share.fair_share, share.admitted.current, share.admitted.previous, into);
    }
    const double allowed_below =
        share.kind == Share::Kind::Light ? limit + light_slack(limit) : limit;

    CDN_TRY(previous, store_.get_counter(CounterKey(public_key, second - 1).view()));
    const std::int64_t prev = previous.value_or(0);

    // Count first, judge after: concurrent checks (on every node, with Redis) each see the
    // others' counts, so together they never admit more than the limit. A rejected request
    // takes its count back.
    const CounterKey key(public_key, second);
    CDN_TRY(counted, store_.increment(key.view(), 1, COUNTER_TTL));
    const std::int64_t before = counted - 1;
    const double estimate =
        static_cast<double>(before) + static_cast<double>(prev) * previous_weight(into);
    if (estimate < allowed_below) {
        return RateDecision{true, std::chrono::milliseconds(0)};
    }
    // If the take-back fails the window stays one too high until it ends: stricter, never
    // looser, so the error is not worth failing the request for.
    (void)store_.increment(key.view(), -1, COUNTER_TTL);
    take_back_share(table.get(), client, second);
    return reject(allowed_below, before, prev, into);
}

RateDecision RateLimiter::reject(double limit, std::int64_t current, std::int64_t previous,
                                 std::int64_t millis_into_second) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    const auto count = static_cast<double>(current);
    std::int64_t wait = 0;
    if (count < limit) {
        // Rejected only for the previous window's weight, which fades as this second goes on.
        wait = first_millis_below(limit - count, static_cast<double>(previous)) -
               millis_into_second;
    } else {
        // This second is spent; in the next one its count is the fading previous window.
        wait = (MILLIS_PER_SECOND - millis_into_second) +
               first_millis_below(limit, count);
    }
    // Clamped: Retry-After is a hint in whole seconds, and one second always changes windows.
    wait = std::clamp<std::int64_t>(wait, 1, MILLIS_PER_SECOND);
    return RateDecision{false, std::chrono::milliseconds(wait)};
}

void RateLimiter::write_metrics(core::MetricWriter& writer) const {
    writer.single("imagecdn_rate_limited_total", "counter", "Requests refused by rate limits.",
                  static_cast<double>(rejected()));
}

} // namespace cdn::kv
