#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "app/config.h"
#include "app/periodic_task.h"
#include "cache/purge.h"
#include "core/clock.h"
#include "edge/shared_tier.h"
#include "kv/kv_store.h"
#include "storage/blob_store.h"

namespace cdn::app {

/**
 * A hash (16 hex characters of SHA-256) of the settings that must be equal on every node of a
 * cluster, whatever its role, so that a node configured apart shows in `GET /internal/v1/nodes`
 * (docs/operations.md lists them and why): the internal secret (hashed: only its equality
 * matters), where the originals and the database are (without credentials), the shared tier,
 * the limits that decide what a variant is, the plans and the grace period. Settings only one
 * role reads (the JWT secret, expected_nodes) are left out: they would flag every other role.
 */
std::string config_fingerprint(const Config& config, const std::string& internal_secret);

/** An edge's shared tier per `[cache] shared_tier`, or nullptr when it is off. Leases are taken
 *  on `kv` only when it is Redis (`[kv] url` set): in one process, the local single-flight
 *  already makes one transform per key. */
std::unique_ptr<edge::SharedTier> make_shared_tier(const Config& config,
                                                   storage::BlobStore& store, kv::KvStore& kv,
                                                   const core::Clock& clock,
                                                   const std::string& node_id);

/**
 * Removes a purge's shared-tier objects, once per purge in the cluster. Every node hears the
 * purge channel; only nodes that serve the API (roles api and all) take part, and of those the
 * one that takes the purge's lease (`purge-sweep:` + the message's SHA-256, released after the
 * sweep) lists and deletes the objects under its prefixes, on its own thread. Why there:
 * deleting on every edge would repeat each listing and delete N times and race; the API nodes
 * are where purges come from, are few, and are off the image path. An edge's shared write that
 * started before a purge and ends after it is removed again by the edge itself (SharedTier).
 */
class SharedTierSweeper {
public:
    SharedTierSweeper(storage::BlobStore& store, kv::KvStore& kv, std::string node_id);
    ~SharedTierSweeper();
    SharedTierSweeper(const SharedTierSweeper&) = delete;
    SharedTierSweeper& operator=(const SharedTierSweeper&) = delete;

    /** Objects deleted so far (for /metrics and tests). */
    std::uint64_t removed() const { return removed_.load(std::memory_order_relaxed); }
    void write_metrics(core::MetricWriter& writer) const;

    /** Sweeps waiting at most; a purge beyond them leaves its objects (counted as dropped):
     *  only their space is lost when the original was replaced (the key has its ETag). */
    static constexpr std::size_t QUEUE = 1024;

private:
    void on_purge(std::string_view message);
    void sweep(const std::string& message, const cache::PurgeRequest& request);

    storage::BlobStore& store_;
    kv::KvStore& kv_;
    std::string node_id_;
    std::atomic<std::size_t> queued_{0};
    std::atomic<std::uint64_t> removed_{0};
    std::atomic<std::uint64_t> dropped_{0};
    boost::asio::thread_pool worker_{1};
    kv::Subscription subscription_; // last: its handler uses everything above
};

/** Announces this node in the KV store (kv::NodeAnnouncement) at once and every
 *  kv::NODE_ANNOUNCE_INTERVAL while it lives, and withdraws it when destroyed (a node that
 *  dies drops out when its value expires). */
class NodeAnnouncer {
public:
    NodeAnnouncer(kv::KvStore& kv, std::string node_id, std::string value);
    ~NodeAnnouncer();
    NodeAnnouncer(const NodeAnnouncer&) = delete;
    NodeAnnouncer& operator=(const NodeAnnouncer&) = delete;

private:
    void announce(std::chrono::milliseconds ttl) const;

    kv::KvStore& kv_;
    std::string key_;
    std::string value_;
    std::optional<PeriodicTask> task_;
};

} // namespace cdn::app
