#include "kv/client_shares.h"

#include <algorithm>
#include <array>
#include <limits>

namespace cdn::kv {

Share ClientShares::assess(ClientId client, std::int64_t second, double previous_weight,
                           double limit) {
    advance(second);
    Slot& slot = slot_for(client, previous_weight);
    ++slot.demand.current;
    ++total_demand_.current;
    Share share;
    // Below the limit nobody needs protecting: the common case costs one comparison.
    if (total_demand_.at(previous_weight) > limit) {
        share.fair_share = fair_share(previous_weight, limit);
        if (slot.demand.at(previous_weight) <= share.fair_share) {
            share.kind = Share::Kind::Light;
        } else if (slot.admitted.at(previous_weight) >= share.fair_share) {
            share.kind = Share::Kind::OverShare;
            share.admitted = slot.admitted;
            return share;
        } else {
            share.kind = Share::Kind::Heavy;
        }
    }
    ++slot.admitted.current;
    return share;
}

void ClientShares::take_back(ClientId client, std::int64_t second) {
    if (second != second_) {
        return; // the window turned meanwhile: the count is history, and fading
    }
    for (auto& slot : slots_) {
        if (slot.client == client) {
            slot.admitted.current -= slot.admitted.current > 0 ? 1 : 0;
            return;
        }
    }
}

void ClientShares::advance(std::int64_t second) {
    if (second <= second_) {
        return; // same window (or the wall clock stepped back: keep counting in this one)
    }
    if (second == second_ + 1) {
        for (auto& slot : slots_) {
            slot.demand.rotate();
            slot.admitted.rotate();
        }
        std::erase_if(slots_, [](const Slot& slot) { return slot.demand.idle(); });
        total_demand_.rotate();
        others_demand_.rotate();
        others_clients_.rotate();
    } else {
        slots_.clear();
        total_demand_ = {};
        others_demand_ = {};
        others_clients_ = {};
    }
    second_ = second;
}

ClientShares::Slot& ClientShares::slot_for(ClientId client, double previous_weight) {
    for (auto& slot : slots_) {
        if (slot.client == client) {
            return slot;
        }
    }
    if (slots_.size() < MAX_CLIENTS) {
        return slots_.emplace_back(Slot{.client = client});
    }
    // Space-saving: the newcomer replaces the client asking least, whose attempts join the
    // pool of evicted clients, so they still weigh in the fair share.
    auto least = std::min_element(slots_.begin(), slots_.end(), [&](const Slot& a, const Slot& b) {
        return a.demand.at(previous_weight) < b.demand.at(previous_weight);
    });
    others_demand_.current += least->demand.current;
    others_demand_.previous += least->demand.previous;
    ++(least->demand.current > 0 ? others_clients_.current : others_clients_.previous);
    *least = Slot{.client = client};
    return *least;
}

double ClientShares::fair_share(double previous_weight, double limit) const {
    // Water filling: serve the smallest demands whole while they fit an equal split of what
    // is left; the first that does not fit sets the level. The evicted clients count as
    // `pool` clients each asking the pool's average.
    std::array<double, MAX_CLIENTS> demands{};
    const std::size_t n = slots_.size();
    for (std::size_t i = 0; i < n; ++i) {
        demands[i] = slots_[i].demand.at(previous_weight);
    }
    std::sort(demands.begin(), demands.begin() + static_cast<std::ptrdiff_t>(n));
    const double pool = others_clients_.at(previous_weight);
    const double pool_each = pool > 0 ? others_demand_.at(previous_weight) / pool : 0;
    bool pool_served = pool <= 0;

    double capacity = std::max(limit, 0.0);
    double sharers = static_cast<double>(n) + std::max(pool, 0.0);
    std::size_t i = 0;
    while (i < n || !pool_served) {
        const bool from_pool = !pool_served && (i == n || pool_each <= demands[i]);
        const double demand = from_pool ? pool_each : demands[i];
        const double count = from_pool ? pool : 1.0;
        if (demand > capacity / sharers) {
            return capacity / sharers;
        }
        capacity -= demand * count;
        sharers -= count;
        if (from_pool) {
            pool_served = true;
        } else {
            ++i;
        }
    }
    return std::numeric_limits<double>::infinity();
}

ClientShareTables::ClientShareTables(std::size_t max_customers)
    : stripe_capacity_((max_customers + STRIPES - 1) / STRIPES),
      stripes_(std::make_unique<Stripe[]>(STRIPES)) {}

ClientShareTables::TablePtr ClientShareTables::table_for(std::string_view public_key,
                                                         std::int64_t second) {
    auto& stripe = stripes_[StringHash{}(public_key) % STRIPES];
    const std::lock_guard lock(stripe.mutex);
    auto it = stripe.tables.find(public_key);
    if (it == stripe.tables.end()) {
        if (stripe.tables.size() >= stripe_capacity_) {
            std::erase_if(stripe.tables, [&](const auto& entry) {
                return entry.second->last_second.load(std::memory_order_relaxed) < second - 1;
            });
        }
        if (stripe.tables.size() >= stripe_capacity_) {
            return nullptr;
        }
        it = stripe.tables.emplace(std::string(public_key), std::make_shared<Table>()).first;
    }
    auto& last = it->second->last_second;
    if (last.load(std::memory_order_relaxed) != second) {
        last.store(second, std::memory_order_relaxed);
    }
    return it->second;
}

std::size_t ClientShareTables::size() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < STRIPES; ++i) {
        const std::lock_guard lock(stripes_[i].mutex);
        total += stripes_[i].tables.size();
    }
    return total;
}

} // namespace cdn::kv
