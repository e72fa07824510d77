#pragma once

#include <atomic>
#include <cstdint>

namespace cdn::api {

/**
 * Bounds how many argon2id computations (signup hashes, login verifications) run at once.
 * Each takes ~40 ms of one core and 19 MiB; they run on the blocking pool that API handlers and
 * the edge's disk-tier work share, so an unbounded flood of logins or signups (neither needs
 * an account; correct logins are not rate limited at all) would take every pool thread and
 * stall everything else. Over the bound a request is refused at once (503 `busy`,
 * `Retry-After: 1`) rather than queued: a waiting request would hold a pool thread too.
 * Humans logging in rarely meet it: two at once per node keep both cores of a small machine busy.
 */
class HashGate {
public:
    /** max(2, hardware threads / 2): half the cores, never fewer than two slots. */
    static unsigned default_slots();

    explicit HashGate(unsigned slots) : slots_(slots == 0 ? 1 : slots) {}

    /** A held slot; released when destroyed. Check `acquired()` first. */
    class Slot {
    public:
        explicit Slot(HashGate& gate);
        ~Slot();
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        bool acquired() const { return acquired_; }

    private:
        HashGate& gate_;
        bool acquired_ = false;
    };

    /** Requests refused since start. */
    std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

private:
    const unsigned slots_;
    std::atomic<unsigned> busy_{0};
    std::atomic<std::uint64_t> refused_{0};
};

} // namespace cdn::api
