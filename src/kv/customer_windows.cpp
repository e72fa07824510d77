#include "kv/customer_windows.h"

#include <algorithm>

namespace cdn::kv {
namespace {

/** How far the other nodes' rate is projected past the last reading: beyond a second the
 *  windows have moved on anyway, and a stalled reconciliation must not invent a flood. */
constexpr std::int64_t MAX_PROJECTION_MS = 1000;

std::int64_t positive(std::int64_t value) { return std::max<std::int64_t>(value, 0); }

} // namespace

void CustomerWindow::advance(std::int64_t now_second) {
    if (now_second <= second) {
        return; // same window (or the wall clock stepped back: keep counting in this one)
    }
    if (now_second == second + 1) {
        own.rotate();
        flushed.rotate();
        others.rotate();
    } else {
        own = {};
        flushed = {};
        others = {};
        synced_at_ms = 0;
    }
    second = now_second;
}

SlidingCount CustomerWindow::others_at(std::int64_t now_ms, std::int64_t lag_ms) const {
    if (synced_at_ms == 0) {
        return {};
    }
    const auto since =
        std::clamp<std::int64_t>(now_ms - synced_at_ms + lag_ms, 0, MAX_PROJECTION_MS);
    // Their count in the last whole second is their rate: steadier than the growth between two
    // readings, which lurches whenever some node admits a burst into new room (tried: the nodes
    // then fall into step, all admitting in bursts, and overshoot by up to 15%).
    const double unseen =
        static_cast<double>(others.previous) * static_cast<double>(since) / 1000.0;
    return {static_cast<double>(others.current) + unseen, static_cast<double>(others.previous)};
}

Unflushed CustomerWindow::take_unflushed() {
    const Unflushed taken{second, own.current - flushed.current, own.previous - flushed.previous};
    flushed = own;
    return taken;
}

void CustomerWindow::restore(const Unflushed& taken, bool current, bool previous) {
    // The windows may have turned since: undo in whichever slot the taken window is now.
    auto undo = [this](std::int64_t window, std::int64_t amount) {
        if (window == second) {
            flushed.current -= amount;
        } else if (window == second - 1) {
            flushed.previous -= amount;
        }
    };
    if (current) {
        undo(taken.second, taken.current);
    }
    if (previous) {
        undo(taken.second - 1, taken.previous);
    }
}

void CustomerWindow::apply(const GlobalTotals& totals, std::int64_t now_ms) {
    if (totals.second != second) {
        return; // the windows turned while the store answered: the next pass reads them again
    }
    if (totals.current) {
        others.current = positive(*totals.current - flushed.current);
    }
    if (totals.previous) {
        others.previous = positive(*totals.previous - flushed.previous);
    }
    synced_at_ms = now_ms;
}

CustomerWindows::CustomerWindows() : stripes_(std::make_unique<Stripe[]>(STRIPES)) {}

CustomerWindows::WindowPtr CustomerWindows::find_or_create(std::string_view public_key) {
    auto& stripe = stripes_[StringHash{}(public_key) % STRIPES];
    const std::lock_guard lock(stripe.mutex);
    auto it = stripe.windows.find(public_key);
    if (it == stripe.windows.end()) {
        it = stripe.windows.emplace(std::string(public_key), std::make_shared<CustomerWindow>())
                 .first;
    }
    return it->second;
}

std::vector<std::pair<std::string, CustomerWindows::WindowPtr>>
CustomerWindows::snapshot() const {
    std::vector<std::pair<std::string, WindowPtr>> all;
    for (std::size_t i = 0; i < STRIPES; ++i) {
        const std::lock_guard lock(stripes_[i].mutex);
        all.insert(all.end(), stripes_[i].windows.begin(), stripes_[i].windows.end());
    }
    return all;
}

void CustomerWindows::sweep(std::int64_t now_second) {
    for (std::size_t i = 0; i < STRIPES; ++i) {
        const std::lock_guard lock(stripes_[i].mutex);
        std::erase_if(stripes_[i].windows, [now_second](const auto& entry) {
            const std::lock_guard window_lock(entry.second->mutex);
            return entry.second->idle(now_second);
        });
    }
}

} // namespace cdn::kv
