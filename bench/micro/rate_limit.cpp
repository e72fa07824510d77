// The per-request cost of the edge's rate limit (kv::RateLimiter::check with the in-process
// KvStore), built twice by bench/micro/rate_limit.sh: against this tree and against the tree
// before the fair limit (BEFORE_FAIR_LIMIT), so the hit path's share can be compared.
#include <chrono>
#include <cstdio>
#include <string>

#include "core/clock.h"
#include "kv/memory_kv_store.h"
#include "kv/rate_limiter.h"

namespace {

constexpr int CALLS = 1'000'000;
constexpr std::uint64_t NO_LIMIT = 1'000'000'000; // a hit path never refused, as in policy.sh
const std::string PUBLIC_KEY = "pk_abcdefghijklmnopqrstuvwx";

template <class Fn> double nanos_per_call(Fn fn) {
    const auto start = std::chrono::steady_clock::now();
    int allowed = 0;
    for (int i = 0; i < CALLS; ++i) {
        allowed += fn(i) ? 1 : 0;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    std::printf("%s", allowed < 0 ? " " : "");
    return std::chrono::duration<double, std::nano>(elapsed).count() / CALLS;
}

} // namespace

int main() {
    cdn::core::SystemClock clock;
    cdn::kv::MemoryKvStore store(clock);
    cdn::kv::RateLimiter limiter(store, clock);
#ifdef BEFORE_FAIR_LIMIT
    std::printf("before: one client, within the limit      %7.1f ns/check\n",
                nanos_per_call([&](int) { return limiter.check(PUBLIC_KEY, NO_LIMIT)->allowed; }));
#else
    std::printf("after:  one client, within the limit      %7.1f ns/check\n",
                nanos_per_call([&](int) { return limiter.check(PUBLIC_KEY, NO_LIMIT, 1)->allowed; }));
    std::printf("after:  32 clients, within the limit      %7.1f ns/check\n",
                nanos_per_call([&](int i) {
                    return limiter.check(PUBLIC_KEY, NO_LIMIT, 1 + i % 32)->allowed;
                }));
    // Over the limit: one client at 31/32 of the traffic, 31 visitors sharing the rest; the
    // fair share is computed on every request.
    std::printf("after:  over the limit, 1 flood + 31      %7.1f ns/check\n",
                nanos_per_call([&](int i) {
                    return limiter.check("pk_flooded", 50, i % 32 == 0 ? 1 : 2 + i % 31)->allowed;
                }));
#endif
}
