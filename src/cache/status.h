#pragma once

#include <string_view>

namespace cdn::cache {

/** Where an answer's variant came from, for X-Cache, the access log and usage. */
enum class Status {
    /** The memory tier. */
    Hit,
    /** The disk tier (promoted to memory on the way). */
    HitDisk,
    /** The cluster's shared tier in the object store (operations.md), also when this node
     *  waited for another node's transform of the variant. */
    HitShared,
    /** Produced for this request, or for a request it waited for (single-flight). */
    Miss,
    /** A variant past its freshness, served because the store failed (delivery.md step 9). */
    Stale,
};

constexpr bool is_hit(Status status) { return status != Status::Miss; }

/** The X-Cache value (delivery.md): a hit in this node's own tiers is HIT, whichever. */
constexpr std::string_view header_value(Status status) {
    return status == Status::Stale       ? "STALE"
           : status == Status::HitShared ? "HIT-SHARED"
           : is_hit(status)              ? "HIT"
                                         : "MISS";
}

} // namespace cdn::cache
