#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cdn::kv {

/** Every node's announcement is the KV value `node:{id}` (on Redis `imagecdn:node:{id}`),
 *  written at start and every NODE_ANNOUNCE_INTERVAL, living NODE_ANNOUNCE_TTL: a node that
 *  stopped or died drops out of the list within that. */
inline constexpr std::string_view NODE_KEY_PREFIX = "node:";
inline constexpr std::chrono::seconds NODE_ANNOUNCE_INTERVAL{5};
inline constexpr std::chrono::seconds NODE_ANNOUNCE_TTL{15};

/** What a node says of itself. */
struct NodeAnnouncement {
    /** Random, per process: a restarted node is a new one. */
    std::string id;
    /** "all", "edge" or "api". */
    std::string role;
    std::string version;
    /** Unix seconds. */
    std::int64_t started_at = 0;
    /** `[server] listen` and the host name, to find the node. */
    std::string listen;
    std::string host;
    /** A hash of the settings every node must share (docs/operations.md). */
    std::string config_fingerprint;

    bool operator==(const NodeAnnouncement&) const = default;
};

/** Compact JSON with the members above. */
std::string encode_announcement(const NodeAnnouncement& node);

/** The inverse of encode_announcement; InvalidRequest for anything else (another deployment's
 *  value under our prefix is skipped, not trusted). */
core::Result<NodeAnnouncement> decode_announcement(std::string_view json);

} // namespace cdn::kv
