#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kv/string_hash.h"

namespace cdn::kv {

/** Counts over the two one-second windows of the sliding window (current, previous). */
struct WindowTotals {
    std::int64_t current = 0;
    std::int64_t previous = 0;

    void rotate() {
        previous = current;
        current = 0;
    }
};

/** A sliding count with fractional parts (the other nodes' share is an estimate). */
struct SlidingCount {
    double current = 0;
    double previous = 0;

    double at(double previous_weight) const { return current + previous * previous_weight; }
};

/** What one reconciliation of a customer read from the store: the global totals of its two
 *  windows, each after this node's flush (nullopt: that window was not read this time). */
struct GlobalTotals {
    std::int64_t second = 0;
    std::optional<std::int64_t> current;
    std::optional<std::int64_t> previous;
};

/** This node's unflushed admissions of a customer, taken for one reconciliation. */
struct Unflushed {
    std::int64_t second = 0;
    std::int64_t current = 0;
    std::int64_t previous = 0;
};

/**
 * One customer's sliding window as this node knows it: its own admissions (exact, local), the
 * part of them already added to the store's counters, and the other nodes' admissions as the
 * store last told (current and previous window). Not thread-safe: the caller holds `mutex`.
 */
struct CustomerWindow {
    std::mutex mutex;
    std::int64_t second = 0;
    WindowTotals own;
    WindowTotals flushed;
    WindowTotals others;
    /** When `others` was read (unix ms); 0 before the first read. */
    std::int64_t synced_at_ms = 0;
    /** The last second a request of the customer reached this node. */
    std::int64_t requested_second = 0;

    /** Moves the windows on to `now_second` (a no-op within the same second). */
    void advance(std::int64_t now_second);
    /** The other nodes' sliding count at `now_ms`: what the store said, plus what they admit
     *  at their last second's rate over the time since and `lag_ms` (how old their part of
     *  that answer may already have been). */
    SlidingCount others_at(std::int64_t now_ms, std::int64_t lag_ms) const;
    /** This node's own count, as a SlidingCount. */
    SlidingCount own_count() const {
        return {static_cast<double>(own.current), static_cast<double>(own.previous)};
    }
    /** Marks this node's unflushed admissions as flushed and returns them. */
    Unflushed take_unflushed();
    /** Undoes take_unflushed() for the windows the store did not count. */
    void restore(const Unflushed& taken, bool current, bool previous);
    /** Records what the store said (`totals` include this node's flushed admissions). */
    void apply(const GlobalTotals& totals, std::int64_t now_ms);
    /** No request for two seconds: neither window of this node's is read any more, by this
     *  node or any other, and the customer costs the store nothing until it comes back. */
    bool idle(std::int64_t now_second) const { return requested_second + 2 <= now_second; }
};

/**
 * CustomerWindow per public key, node-local, with striped locks so customers rarely share one.
 * Entries are created by the hit path and dropped by sweep() once idle (a request racing the
 * sweep of its customer's idle entry may go uncounted by the store: one request, once).
 */
class CustomerWindows {
public:
    using WindowPtr = std::shared_ptr<CustomerWindow>;
    static constexpr std::size_t STRIPES = 64;

    CustomerWindows();

    /** The customer's window, created if needed. */
    WindowPtr find_or_create(std::string_view public_key);
    /** Every entry, for a reconciliation pass (copied out, so the hit path is not held up). */
    std::vector<std::pair<std::string, WindowPtr>> snapshot() const;
    /** Drops the entries idle at `now_second`. */
    void sweep(std::int64_t now_second);

private:
    struct alignas(64) Stripe {
        mutable std::mutex mutex;
        std::unordered_map<std::string, WindowPtr, StringHash, std::equal_to<>> windows;
    };

    std::unique_ptr<Stripe[]> stripes_;
};

} // namespace cdn::kv
