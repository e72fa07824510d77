#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "api/common/principal.h"
#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"
#include "http/message.h"

namespace cdn::api {

/**
 * Who is calling: a JWT in `Authorization: Bearer` (HS256 pinned, `exp` required, see
 * security/jwt.h) or an API key in `X-API-Key` (looked up by its prefix, its hash compared in
 * constant time; a deleted key fails on the next request because every request reads the row).
 * `last_used_at` is not written per request: uses are kept in memory and written in one batch
 * once `flush_interval` has passed (by the request that notices) and at flush().
 * Blocking (database): call from the blocking pool. Thread-safe.
 */
class Authenticator {
public:
    Authenticator(db::Database& db, std::string jwt_secret, const core::Clock& clock,
                  std::chrono::seconds flush_interval = std::chrono::seconds(10));

    /** Unauthorized (401) for a missing, malformed, expired or unknown credential. */
    core::Result<Principal> authenticate(const http::Request& request);

    /** Writes the pending key uses now (at shutdown, and in tests). */
    core::Result<void> flush();

private:
    core::Result<Principal> with_api_key(std::string_view secret);
    void note_use(const std::string& key_id);

    db::Database& db_;
    std::string jwt_secret_;
    const core::Clock& clock_;
    std::chrono::seconds flush_interval_;
    std::mutex mutex_;
    std::map<std::string, std::int64_t> pending_uses_;
    std::chrono::steady_clock::time_point last_flush_;
};

} // namespace cdn::api
