#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/metrics.h"

namespace cdn::edge {

/**
 * Bytes of originals a node holds in memory for misses in flight: read, waiting for a worker,
 * or being transformed (docs/edge-policy.md "Originals in memory"). The transform queue bounds
 * how many misses are in flight, not their size: 66 places × a 100 MB original is 6.6 GB, so a
 * stranger asking distinct variants of a site's largest originals could make the node run out
 * of memory and fail every tenant. Over the budget a miss is 503 busy (Retry-After) instead.
 * One customer may hold at most half of it, so another's misses still find room.
 */
class OriginalBudget {
public:
    /** `total_bytes` 0: no limit. */
    explicit OriginalBudget(std::uint64_t total_bytes) : total_(total_bytes) {}
    OriginalBudget(const OriginalBudget&) = delete;
    OriginalBudget& operator=(const OriginalBudget&) = delete;

    /** Bytes held for one miss, given back when destroyed. */
    class Hold {
    public:
        Hold(Hold&& other) noexcept;
        Hold& operator=(Hold&&) = delete;
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;
        ~Hold();

    private:
        friend class OriginalBudget;
        Hold(OriginalBudget* budget, std::string customer, std::uint64_t bytes)
            : budget_(budget), customer_(std::move(customer)), bytes_(bytes) {}
        OriginalBudget* budget_;
        std::string customer_;
        std::uint64_t bytes_;
    };

    /** Holds `bytes` for `customer`, or nullopt (counted as refused) when that would take the
     *  node over its total or the customer over half of it. */
    std::optional<Hold> try_hold(const std::string& customer, std::uint64_t bytes);

    std::uint64_t held() const;
    std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

    void write_metrics(core::MetricWriter& writer) const;

private:
    void give_back(const std::string& customer, std::uint64_t bytes);
    /** A customer's cap: half the total. */
    std::uint64_t per_customer() const { return total_ / 2; }

    const std::uint64_t total_;
    mutable std::mutex mutex_;
    std::uint64_t held_ = 0;
    std::atomic<std::uint64_t> refused_{0};
    /** Only customers holding something. */
    std::map<std::string, std::uint64_t, std::less<>> by_customer_;
};

} // namespace cdn::edge
