#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "kv/kv_store.h"
#include "kv/window_limiter.h"

namespace cdn::api {

/** The outcome of a login rate-limit check (Retry-After: seconds until the window ends). */
using LoginDecision = kv::WindowDecision;

/**
 * Failed-login limits (api.md "Authentication"): per email and per client address, counted in
 * the KvStore so every node of a fleet shares them (with Redis).
 *
 * - Only failures count (a wrong password, an unknown email). A refused (429) attempt is not
 *   counted, so waiting out the window always works.
 * - A successful login does NOT reset the counters: simpler (no delete in KvStore, no race
 *   between a reset and concurrent failures), and an attacker who knows one password of an
 *   address still cannot use that address to reset its budget for guessing others.
 * - Windows are fixed and aligned to unix time (`floor(now / WINDOW)`, in the key), so every
 *   node agrees on them and Retry-After is exact. The price of fixed windows: up to twice the
 *   limit around a boundary.
 * - check() and record_failure() are separate, so up to (blocking threads - 1) concurrent
 *   attempts may slip past a limit that is just being reached: bounded and small.
 * - IPv6 clients are counted per /64 (one host usually owns a whole /64); an IPv4-mapped IPv6
 *   address counts as its IPv4 address.
 * - The per-email limit lets anyone delay a victim's logins for one window by failing ten
 *   times; the per-email budget is kept generous enough (10) for typos and low enough to stop
 *   online guessing (960 guesses a day per email, fewer with the per-address limit).
 *
 * When the store cannot answer, check() fails closed (503 unavailable) rather than allowing
 * unlimited guessing.
 */
class LoginLimiter {
public:
    /** Failed logins per email per window. */
    static constexpr std::int64_t MAX_FAILURES_PER_EMAIL = 10;
    /** Failed logins per client address per window (NAT'd offices share one). */
    static constexpr std::int64_t MAX_FAILURES_PER_ADDRESS = 30;
    /** Signup attempts per client address per window: accounts are free, so without a bound
     *  one client could create them without end (each costs an argon2 hash and a row). */
    static constexpr std::int64_t MAX_SIGNUPS_PER_ADDRESS = 20;
    /** The window length. */
    static constexpr std::chrono::seconds WINDOW{15 * 60};

    LoginLimiter(kv::KvStore& store, const core::Clock& clock) : store_(store), clock_(clock) {}

    /** Whether a login for `email` (normalised) from `address` may be tried now. */
    core::Result<LoginDecision> check(std::string_view email, std::string_view address);

    /** Counts a signup attempt from `address` and says whether it may go on. Fails closed
     *  like check(). */
    core::Result<LoginDecision> admit_signup(std::string_view address);

    /** Counts one failed login; a store error is logged, never returned. */
    void record_failure(std::string_view email, std::string_view address);

    /** The counter keys (exposed for tests). */
    static std::string email_key(std::string_view email, std::int64_t window);
    static std::string address_key(std::string_view address, std::int64_t window);
    /** `address` as it is counted: IPv4 as is, IPv6 as its /64. */
    static std::string address_bucket(std::string_view address);

private:
    kv::KvStore& store_;
    const core::Clock& clock_;
};

} // namespace cdn::api
