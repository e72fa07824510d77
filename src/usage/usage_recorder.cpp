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
    Batch batch = take_pending();
    std::vector<db::UsageDelta> deltas;
    deltas.reserve(batch.counts.size());
    for (const auto& [key, c] : batch.counts) {
        deltas.push_back(
            {key.first, key.second, c.requests, c.bytes_out, c.transforms, c.cache_hits, c.errors});
    }
    // One transaction: the batch lands entirely or not at all, so keeping it on failure can
    // never count anything twice.
    auto written = db::UsageRepository(db_).add_hourly(deltas);
    if (!written) {
        put_back(std::move(batch));
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

UsageRecorder::Batch UsageRecorder::take_pending() {
    Batch batch;
    const std::lock_guard lock(mutex_);
    batch.counts.swap(pending_);
    batch.events = std::exchange(pending_events_, 0);
    return batch;
}

void UsageRecorder::put_back(Batch&& batch) {
    const std::lock_guard lock(mutex_);
    // Keys recorded since the batch was taken stay in the batch after merge(); add them up.
    pending_.merge(batch.counts);
    for (const auto& [key, c] : batch.counts) {
        Counts& into = pending_[key];
        into.requests += c.requests;
        into.bytes_out += c.bytes_out;
        into.transforms += c.transforms;
        into.cache_hits += c.cache_hits;
        into.errors += c.errors;
    }
    pending_events_ += batch.events;
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

} // namespace cdn::usage
