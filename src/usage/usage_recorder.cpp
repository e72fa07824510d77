#include "usage/usage_recorder.h"

#include <spdlog/spdlog.h>

namespace cdn::usage {
namespace {

std::int64_t as_count(bool flag) { return flag ? 1 : 0; }

} // namespace

UsageRecorder::UsageRecorder(db::Database& db, const core::Clock& clock,
                             std::chrono::milliseconds flush_interval)
    : db_(db), clock_(clock), flush_interval_(flush_interval),
      last_flush_(clock.steady_now().time_since_epoch().count()) {}

UsageRecorder::~UsageRecorder() { stop(); }

void UsageRecorder::record(const UsageEvent& event) {
    const KeyView key{event.customer_id, db::hour_start(clock_.unix_seconds())};
    const std::lock_guard lock(mutex_);
    auto it = pending_.find(key);
    if (it == pending_.end()) {
        // Allocates only for the first event of a customer's hour.
        it = pending_.emplace(Key{key.first, key.second}, Counts{}).first;
    }
    Counts& counts = it->second;
    counts.requests += 1;
    counts.bytes_out += static_cast<std::int64_t>(event.bytes_out);
    counts.transforms += as_count(event.transform);
    counts.cache_hits += as_count(event.cache_hit);
    counts.errors += as_count(event.error);
    ++pending_events_;
}

core::Result<void> UsageRecorder::flush() {
    const std::lock_guard flushing(flush_mutex_);
    const std::uint64_t events = take_pending();
    // One transaction: the batch lands entirely or not at all, so keeping it on failure can
    // never count anything twice.
    auto written = db::UsageRepository(db_).add_hourly(in_flight_deltas());
    settle(written.has_value(), events);
    if (!written) {
        return written.error();
    }
    last_flush_ = clock_.steady_now().time_since_epoch().count();
    return {};
}

void UsageRecorder::start() {
    flusher_ = std::thread([this] { run_flusher(); });
}

void UsageRecorder::stop() {
    {
        const std::lock_guard lock(thread_mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (flusher_.joinable()) {
        flusher_.join();
    }
    // After the join, so that nothing the flusher was writing is left behind.
    if (auto flushed = flush(); !flushed) {
        spdlog::error("usage: final flush failed, {} events lost: {}", pending_events(),
                      flushed.error().detail);
    }
}

std::chrono::milliseconds UsageRecorder::flush_lag() const {
    const auto last = std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_flush_.load()));
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - last);
}

std::uint64_t UsageRecorder::pending_events() const {
    const std::lock_guard lock(mutex_);
    return pending_events_;
}

std::int64_t UsageRecorder::pending_bytes(std::string_view customer_id,
                                          std::int64_t from_hour) const {
    const std::lock_guard lock(mutex_);
    return bytes_from(pending_, customer_id, from_hour) +
           bytes_from(in_flight_, customer_id, from_hour);
}

std::int64_t UsageRecorder::bytes_from(const Pending& counts, std::string_view customer_id,
                                       std::int64_t from_hour) {
    // Keys sort by customer, then hour: the customer's hours from `from_hour` are one range.
    std::int64_t bytes = 0;
    for (auto it = counts.lower_bound(KeyView{customer_id, from_hour});
         it != counts.end() && it->first.first == customer_id; ++it) {
        bytes += it->second.bytes_out;
    }
    return bytes;
}

std::uint64_t UsageRecorder::take_pending() {
    const std::lock_guard lock(mutex_);
    in_flight_.swap(pending_); // in_flight_ is empty between flushes
    return std::exchange(pending_events_, 0);
}

std::vector<db::UsageDelta> UsageRecorder::in_flight_deltas() const {
    std::vector<db::UsageDelta> deltas;
    deltas.reserve(in_flight_.size());
    for (const auto& [key, c] : in_flight_) {
        deltas.push_back(
            {key.first, key.second, c.requests, c.bytes_out, c.transforms, c.cache_hits, c.errors});
    }
    return deltas;
}

void UsageRecorder::settle(bool written, std::uint64_t events) {
    // One lock for leaving in_flight_ and (on failure) rejoining pending_, so pending_bytes()
    // never sees the batch in neither.
    const std::lock_guard lock(mutex_);
    if (!written) {
        // Keys recorded since the batch was taken stay in in_flight_ after merge(); add them up.
        pending_.merge(in_flight_);
        for (const auto& [key, c] : in_flight_) {
            Counts& into = pending_[key];
            into.requests += c.requests;
            into.bytes_out += c.bytes_out;
            into.transforms += c.transforms;
            into.cache_hits += c.cache_hits;
            into.errors += c.errors;
        }
        pending_events_ += events;
    }
    in_flight_.clear();
}

void UsageRecorder::run_flusher() {
    std::unique_lock lock(thread_mutex_);
    while (!wake_.wait_for(lock, flush_interval_, [this] { return stopping_; })) {
        lock.unlock();
        if (auto flushed = flush(); !flushed) {
            spdlog::warn("usage: flush failed, {} events kept for the next one: {}",
                         pending_events(), flushed.error().detail);
        }
        lock.lock();
    }
}

void UsageRecorder::write_metrics(core::MetricWriter& writer) const {
    writer.single("imagecdn_usage_flush_lag_seconds", "gauge",
                  "Time since usage counts were last written to the database.",
                  static_cast<double>(flush_lag().count()) / 1000.0);
    writer.single("imagecdn_usage_pending_events", "gauge", "Requests counted, not yet written.",
                  static_cast<double>(pending_events()));
}

} // namespace cdn::usage
