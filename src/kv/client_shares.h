#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kv/string_hash.h"

namespace cdn::kv {

/** One client of a customer, as an opaque integer (the edge passes http::client_group). */
using ClientId = std::uint64_t;

/** A count over the two one-second windows of the sliding window. */
struct WindowCount {
    std::uint32_t current = 0;
    std::uint32_t previous = 0;

    /** The sliding estimate, with the previous window weighing `previous_weight` in [0, 1]. */
    double at(double previous_weight) const {
        return static_cast<double>(current) + static_cast<double>(previous) * previous_weight;
    }
    void rotate() {
        previous = current;
        current = 0;
    }
    bool idle() const { return current == 0 && previous == 0; }
};

/** How the customer's limit applies to one request, as its clients' recent demand says. */
struct Share {
    enum class Kind {
        /** The customer's demand is within its limit: the limit alone decides. */
        Unlimited,
        /** The client asks for no more than the fair share: served up to the limit + slack. */
        Light,
        /** The client asks for more than the fair share: served up to the share and the limit. */
        Heavy,
        /** A heavy client already at its fair share: refused without consulting the limit. */
        OverShare,
    };
    Kind kind = Kind::Unlimited;
    /** The max-min fair share, requests per sliding window (Light, Heavy, OverShare). */
    double fair_share = 0;
    /** The client's admitted requests in the two windows (OverShare: for Retry-After). */
    WindowCount admitted;
};

/**
 * A customer's recent requests by client on this node, over the same two one-second windows as
 * the customer's limit, bounded to MAX_CLIENTS tracked clients (a space-saving table: a new
 * client takes the place of the one with the least demand, whose counts move to a shared
 * "others" pool). From the clients' demand (attempts, refused ones included) it computes the
 * max-min fair share of the limit, the water level f with Σ min(demand_i, f) = limit, and
 * classifies each request (Share). Not thread-safe: ClientShareTables locks it.
 */
class ClientShares {
public:
    static constexpr std::size_t MAX_CLIENTS = 32;

    /**
     * Counts an attempt by `client` in `second` and says how the limit applies to it. A request
     * it does not refuse is counted as admitted at once; take_back() undoes that if the
     * customer's limit refuses it after all.
     */
    Share assess(ClientId client, std::int64_t second, double previous_weight, double limit);
    void take_back(ClientId client, std::int64_t second);

    std::size_t tracked() const { return slots_.size(); }

private:
    struct Slot {
        ClientId client = 0;
        WindowCount demand;
        WindowCount admitted;
    };

    void advance(std::int64_t second);
    Slot& slot_for(ClientId client, double previous_weight);
    double fair_share(double previous_weight, double limit) const;

    std::int64_t second_ = 0;
    std::vector<Slot> slots_;
    /** Every attempt, tracked or not, so congestion is known in O(1). */
    WindowCount total_demand_;
    /** Attempts and number of the clients evicted from the table in these windows. */
    WindowCount others_demand_;
    WindowCount others_clients_;
};

/**
 * ClientShares per customer, node-local. Lock striping finds a customer's table (a lookup, no
 * allocation); the table has its own lock, so customers never wait for each other's
 * fair-share work. At most `max_customers` tables: a full stripe first drops tables idle for
 * two seconds, and a customer that still finds no room is limited by its total alone.
 */
class ClientShareTables {
public:
    struct Table {
        std::mutex mutex;
        ClientShares shares; // guarded by mutex
        /** The last second the table was handed out in, read by sweeps without its lock. */
        std::atomic<std::int64_t> last_second{0};
    };
    using TablePtr = std::shared_ptr<Table>;

    static constexpr std::size_t STRIPES = 64;

    /** @param max_customers 0 tracks no one: every customer is limited by its total alone. */
    explicit ClientShareTables(std::size_t max_customers);

    /** The customer's table, created if needed; nullptr when none fits. */
    TablePtr table_for(std::string_view public_key, std::int64_t second);

    std::size_t size() const;

private:
    struct alignas(64) Stripe {
        mutable std::mutex mutex;
        std::unordered_map<std::string, TablePtr, StringHash, std::equal_to<>> tables;
    };

    std::size_t stripe_capacity_;
    std::unique_ptr<Stripe[]> stripes_;
};

} // namespace cdn::kv
