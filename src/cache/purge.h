#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cache/tiered_cache.h"
#include "core/result.h"

namespace cdn::cache {

/** The pub/sub channel on which a management node publishes encode_purge() messages, so that
 *  every edge node applies them to its own cache. The store adds `[kv] prefix`: on Redis, by
 *  default, `imagecdn:purge`. */
inline constexpr std::string_view PURGE_CHANNEL = "purge";

/** Every announced purge is also appended to this KV log (on Redis `imagecdn:purge-log`, a
 *  list, and `imagecdn:purge-log:seq`), so that a node that lost Redis and the messages sent
 *  meanwhile replays them once reconnected. Bounded by both the entry count and the TTL; a node
 *  away longer than that clears its whole variant cache instead. */
inline constexpr std::string_view PURGE_LOG = "purge-log";
inline constexpr std::size_t PURGE_LOG_MAX_ENTRIES = 10'000;
inline constexpr std::chrono::minutes PURGE_LOG_TTL{15};

/** One purge of one customer's variants (api.md `POST /purge`, or a replaced or deleted
 *  original). */
struct PurgeRequest {
    enum class Scope { Paths, Prefix, All };

    std::string public_key;
    Scope scope = Scope::Paths;
    /** Scope::Paths: the originals whose variants go. */
    std::vector<std::string> paths;
    /** Scope::Prefix: every original whose path starts with it (`products/`). */
    std::string prefix;

    bool operator==(const PurgeRequest&) const = default;
};

/** Compact JSON: `{"public_key":"pk_…","scope":"paths","paths":["a.png"]}`, scope "prefix"
 *  with a "prefix" member, or scope "all" alone. */
std::string encode_purge(const PurgeRequest& request);

/** "paths", "prefix" or "all", as the message and the API name the scope. */
std::string_view scope_name(PurgeRequest::Scope scope);

/** The inverse of encode_purge, strict since a wrong purge silently serves stale content:
 *  InvalidRequest for anything but an object with exactly the members of its scope, a public
 *  key that is empty or holds ':' (it would reach into another customer's keys), an empty or
 *  non-string path, no paths, or an empty prefix (scope "all" says that). */
core::Result<PurgeRequest> decode_purge(std::string_view json);

/** Drops the request's variants from both tiers; returns how many (summed over the paths). */
std::size_t apply_purge(TieredCache& cache, const PurgeRequest& request);

} // namespace cdn::cache
