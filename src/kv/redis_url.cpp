#include "kv/redis_url.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>

namespace cdn::kv {
namespace {

core::Error bad_url(std::string message) {
    return core::make_error(core::Errc::InvalidRequest, std::move(message));
}

/** A decimal in [low, high], the whole of `text`. */
std::optional<int> number_in(std::string_view text, int low, int high) {
    int value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value < low || value > high) {
        return std::nullopt;
    }
    return value;
}

/** `[user]:password` before the last '@' of the authority, if any. */
core::Result<void> read_credentials(std::string_view& authority, RedisEndpoint& endpoint) {
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos) {
        return {};
    }
    const auto userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
        return bad_url("expected redis://[user]:password@host:port (a ':' before the password)");
    }
    endpoint.username = userinfo.substr(0, colon);
    endpoint.password = userinfo.substr(colon + 1);
    authority.remove_prefix(at + 1);
    return {};
}

/** `host[:port]` or `[v6]:port`. */
core::Result<void> read_host_port(std::string_view authority, RedisEndpoint& endpoint) {
    std::string_view port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return bad_url("an IPv6 host needs its closing ']'");
        }
        endpoint.host = authority.substr(1, close - 1);
        authority.remove_prefix(close + 1);
        if (!authority.empty() && !authority.starts_with(':')) {
            return bad_url("expected ':port' after the IPv6 host");
        }
        port = authority.empty() ? "" : authority.substr(1);
    } else {
        const auto colon = authority.rfind(':');
        endpoint.host = authority.substr(0, colon);
        port = colon == std::string_view::npos ? "" : authority.substr(colon + 1);
    }
    if (endpoint.host.empty()) {
        return bad_url("expected redis://host:port (no host)");
    }
    if (!port.empty()) {
        const auto number = number_in(port, 1, 65535);
        if (!number) {
            return bad_url("the port must be a number from 1 to 65535");
        }
        endpoint.port = *number;
    }
    return {};
}

} // namespace

std::string RedisEndpoint::display() const {
    const bool v6 = host.find(':') != std::string::npos;
    return fmt::format("redis://{}{}{}:{}/{}", v6 ? "[" : "", host, v6 ? "]" : "", port, db);
}

core::Result<RedisEndpoint> parse_redis_url(std::string_view url) {
    if (url.starts_with("rediss://")) {
        return bad_url("rediss:// (TLS) is not supported: this build's hiredis (Debian 12, 0.14) "
                       "has no TLS; reach Redis over a private network or a TLS tunnel");
    }
    constexpr std::string_view SCHEME = "redis://";
    if (!url.starts_with(SCHEME)) {
        return bad_url("expected empty (in-process) or redis://[:password@]host:port[/db]");
    }
    url.remove_prefix(SCHEME.size());
    const auto slash = url.find('/');
    auto authority = url.substr(0, slash);
    RedisEndpoint endpoint;
    CDN_TRY_VOID(read_credentials(authority, endpoint));
    CDN_TRY_VOID(read_host_port(authority, endpoint));
    if (slash != std::string_view::npos && slash + 1 < url.size()) {
        const auto db = number_in(url.substr(slash + 1), 0, 1 << 20);
        if (!db) {
            return bad_url("the database after '/' must be a number");
        }
        endpoint.db = *db;
    }
    return endpoint;
}

} // namespace cdn::kv
