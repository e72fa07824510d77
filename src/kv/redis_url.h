#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace cdn::kv {

/** Where a Redis server is and how to log in, from `[kv] url`. */
struct RedisEndpoint {
    std::string host;
    int port = 6379;
    /** AUTH username (Redis 6 ACLs); empty for the default user. */
    std::string username;
    /** AUTH password; empty: no AUTH. */
    std::string password;
    /** SELECT index (keys only: pub/sub is server-wide). */
    int db = 0;

    /** `redis://host:port/db`, never the password: for logs and error messages. */
    std::string display() const;
};

/**
 * Parses `redis://[[user]:password@]host[:port][/db]` (IPv6 hosts in brackets). `rediss://`
 * (TLS) is refused: Debian 12's hiredis is 0.14, built without hiredis_ssl. Errors are
 * Errc::InvalidRequest with a message saying what is wrong (never echoing the password).
 */
core::Result<RedisEndpoint> parse_redis_url(std::string_view url);

} // namespace cdn::kv
