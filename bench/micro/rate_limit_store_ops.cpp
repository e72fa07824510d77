// How many KvStore operations one node's rate limiter issues at a given request rate, and what
// a check costs, built twice by bench/micro/rate_limit_store_ops.sh: against src/kv before
// issue 17 (BEFORE_RECONCILE: the store counted every request) and against this tree (node
// memory on the hit path, reconcile() every RateLimiter::RECONCILE_INTERVAL). With Redis each
// operation is a network round trip, so this is the Redis command rate of one edge node.
// Simulated time: 20,000 requests a second for 10 s, evenly spread, on one thread. Operations
// are counter commands; round trips count a batch (KvStore::increment_all) once.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "fake_clock.h"
#include "kv/memory_kv_store.h"
#include "kv/rate_limiter.h"

namespace {

constexpr int REQUESTS_PER_SECOND = 20'000;
constexpr int SECONDS = 10;

/** The in-process store, counting the operations asked of it. */
class CountingStore final : public cdn::kv::KvStore {
public:
    explicit CountingStore(const cdn::core::Clock& clock) : store_(clock) {}
    cdn::core::Result<std::int64_t> increment(std::string_view key, std::int64_t delta,
                                              std::chrono::milliseconds ttl) override {
        ++operations;
        return store_.increment(key, delta, ttl);
    }
    cdn::core::Result<std::optional<std::int64_t>> get_counter(std::string_view key) override {
        ++operations;
        return store_.get_counter(key);
    }
    /** With Redis one pipelined round trip for the batch. */
    cdn::core::Result<std::vector<std::int64_t>> increment_all(
        const std::vector<cdn::kv::CounterDelta>& deltas) override {
        ++batches;
        batched += static_cast<std::int64_t>(deltas.size());
        return KvStore::increment_all(deltas);
    }
    cdn::core::Result<void> publish(std::string_view channel, std::string_view message) override {
        return store_.publish(channel, message);
    }
    cdn::kv::Subscription subscribe(std::string channel, cdn::kv::MessageHandler handler) override {
        return store_.subscribe(std::move(channel), std::move(handler));
    }
#ifndef BEFORE_RECONCILE // the store's logs came after the reconciliation
    cdn::core::Result<std::int64_t> append_log(std::string_view key, std::string_view message,
                                               std::size_t max_entries,
                                               std::chrono::milliseconds ttl) override {
        return store_.append_log(key, message, max_entries, ttl);
    }
    cdn::core::Result<cdn::kv::LogTail> read_log(std::string_view key,
                                                 std::int64_t after) override {
        return store_.read_log(key, after);
    }
#endif
    std::int64_t operations = 0;
    std::int64_t batches = 0;
    std::int64_t batched = 0;

private:
    cdn::kv::MemoryKvStore store_;
};

/** Runs the traffic over `customers` customers with limit `limit` each; prints the store's
 *  operations per second and the hit path's time per check (reconciliation excluded). */
void run(const char* label, int customers, std::uint64_t limit) {
    cdn::test::FakeClock clock; // moved by the simulation, 50 us a request
    CountingStore store(clock);
    cdn::kv::RateLimiter limiter(store, clock);
    std::vector<std::string> keys;
    for (int c = 0; c < customers; ++c) {
        keys.push_back("pk_customer" + std::to_string(c) + "abcdefghijklmno");
    }
    const auto step = std::chrono::microseconds(1'000'000 / REQUESTS_PER_SECOND);
    std::chrono::nanoseconds in_check{0};
    int allowed = 0;
    for (int i = 0; i < REQUESTS_PER_SECOND * SECONDS; ++i) {
        const auto start = std::chrono::steady_clock::now();
        allowed += limiter.check(keys[i % customers], limit, 1 + i % 7)->allowed ? 1 : 0;
        in_check += std::chrono::steady_clock::now() - start;
        clock.advance(step);
#ifndef BEFORE_RECONCILE
        if ((i + 1) % (REQUESTS_PER_SECOND / 1000 *
                       cdn::kv::RateLimiter::RECONCILE_INTERVAL.count()) == 0) {
            (void)limiter.reconcile();
        }
#endif
    }
    // A batch is one round trip; an operation outside one is a round trip of its own.
    const auto round_trips = store.batches + store.operations - store.batched;
    std::printf("%-7s %-38s %6.0f ops/s %6.0f round trips/s %6.1f%% allowed %4.0f ns/check\n",
#ifdef BEFORE_RECONCILE
                "before:",
#else
                "after:",
#endif
                label, static_cast<double>(store.operations) / SECONDS,
                static_cast<double>(round_trips) / SECONDS,
                100.0 * allowed / (REQUESTS_PER_SECOND * SECONDS),
                static_cast<double>(in_check.count()) / (REQUESTS_PER_SECOND * SECONDS));
}

} // namespace

int main() {
    constexpr std::uint64_t NO_LIMIT = 1'000'000'000;
    run("1 customer, within its limit", 1, NO_LIMIT);
    run("10 customers, within their limits", 10, NO_LIMIT);
    run("100 customers, within their limits", 100, NO_LIMIT);
    run("1 customer at 400x its limit (50/s)", 1, 50);
}
