#include "app/cluster.h"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "core/hash.h"
#include "kv/node_announcement.h"
#include "storage/shared_variants.h"

namespace cdn::app {
namespace {

/** A purge's sweep lease: long enough for a large sweep, released when it ends. */
constexpr std::chrono::seconds SWEEP_LEASE_TTL{60};

/** A URL without `user:password@`: equal locations compare equal whoever logs in. */
std::string without_credentials(const std::string& url) {
    const auto scheme = url.find("://");
    const auto at = url.find('@');
    if (scheme == std::string::npos || at == std::string::npos || at < scheme) {
        return url;
    }
    return url.substr(0, scheme + 3) + url.substr(at + 1);
}

void add_plans(std::vector<std::string>& lines, const account::PlanTable& plans) {
    for (const auto& [name, p] : plans) {
        lines.push_back(fmt::format("plan {}: {} {} {} {} {} {} {} {} {} {} {}", name, p.price_usd,
                                    p.stripe_price_id, p.avif, p.signed_urls, p.custom_domains,
                                    p.max_dimension, p.rate_limit_rps, p.bandwidth_quota_bytes,
                                    p.over_quota, p.storage_quota_bytes, p.max_original_bytes));
    }
}

/** The storage location: the bucket for S3, the folder for the local store. */
std::string store_location(const StorageConfig& s) {
    if (s.kind == "s3") {
        return fmt::format("s3 {} {} {} {}", s.endpoint, s.bucket, s.region, s.path_style);
    }
    return "local " + s.root;
}

/** The shared-tier prefixes a purge covers. */
std::vector<std::string> shared_prefixes(const cache::PurgeRequest& request) {
    using Scope = cache::PurgeRequest::Scope;
    std::vector<std::string> prefixes;
    if (request.scope == Scope::Paths) {
        for (const auto& path : request.paths) {
            prefixes.push_back(storage::shared_variant_path_prefix(request.public_key, path));
        }
    } else {
        const auto& under = request.scope == Scope::Prefix ? request.prefix : std::string();
        prefixes.push_back(storage::shared_variant_tree_prefix(request.public_key, under));
    }
    return prefixes;
}

} // namespace

std::string config_fingerprint(const Config& c, const std::string& internal_secret) {
    const auto& l = c.limits;
    std::vector<std::string> lines{
        "internal_secret " + core::sha256_hex(internal_secret),
        "storage " + store_location(c.storage),
        fmt::format("max_path_segments {}", c.storage.max_path_segments),
        "database " + without_credentials(c.database.url),
        fmt::format("shared_tier {}", c.cache.shared_tier),
        fmt::format("limits {} {} {} {} {} {} {}", l.max_original_bytes, l.max_original_pixels,
                    l.max_output_dimension, l.max_output_pixels, l.max_frames,
                    l.progressive_max_pixels, l.transform_timeout_ms),
        fmt::format("grace_days {}", c.billing.grace_days),
    };
    add_plans(lines, c.plans);
    return core::sha256_hex(fmt::format("{}", fmt::join(lines, "\n"))).substr(0, 16);
}

std::unique_ptr<edge::SharedTier> make_shared_tier(const Config& config,
                                                   storage::BlobStore& store, kv::KvStore& kv,
                                                   const core::Clock& clock,
                                                   const std::string& node_id) {
    if (!config.cache.shared_tier) {
        return nullptr;
    }
    return std::make_unique<edge::SharedTier>(
        store, config.kv.url.empty() ? nullptr : &kv, clock,
        edge::SharedTierConfig{.wait = std::chrono::milliseconds(config.cache.shared_wait_ms),
                               .node_id = node_id});
}

SharedTierSweeper::SharedTierSweeper(storage::BlobStore& store, kv::KvStore& kv,
                                     std::string node_id)
    : store_(store), kv_(kv), node_id_(std::move(node_id)),
      subscription_(kv.subscribe(std::string(cache::PURGE_CHANNEL),
                                 [this](std::string_view message) { on_purge(message); })) {}

SharedTierSweeper::~SharedTierSweeper() {
    subscription_.reset();
    worker_.join();
}

void SharedTierSweeper::on_purge(std::string_view message) {
    // On the store's thread (the publisher's, in one process): the work goes to our own.
    auto request = cache::decode_purge(message);
    if (!request) {
        return; // the cache's subscriber logs it
    }
    if (queued_.fetch_add(1, std::memory_order_relaxed) >= QUEUE) {
        queued_.fetch_sub(1, std::memory_order_relaxed);
        dropped_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("shared tier: purge of {} not swept (queue full)", request->public_key);
        return;
    }
    boost::asio::post(worker_, [this, message = std::string(message), request = *request] {
        sweep(message, request);
        queued_.fetch_sub(1, std::memory_order_relaxed);
    });
}

void SharedTierSweeper::sweep(const std::string& message, const cache::PurgeRequest& request) {
    const auto lease = "purge-sweep:" + core::sha256_hex(message);
    auto taken = kv_.acquire_lease(lease, node_id_, SWEEP_LEASE_TTL);
    if (taken && !*taken) {
        return; // another API node sweeps this purge
    }
    for (const auto& prefix : shared_prefixes(request)) {
        auto removed = storage::remove_all_under(store_, prefix);
        if (!removed) {
            spdlog::warn("shared tier: sweep of {} failed: {}", prefix, removed.error().message);
            continue;
        }
        removed_.fetch_add(*removed, std::memory_order_relaxed);
    }
    if (taken) {
        (void)kv_.release_lease(lease, node_id_);
    }
}

void SharedTierSweeper::write_metrics(core::MetricWriter& writer) const {
    writer.single("imagecdn_shared_tier_swept_total", "counter",
                  "Shared-tier objects this node deleted for purges.",
                  static_cast<double>(removed()));
    writer.single("imagecdn_shared_tier_sweeps_dropped_total", "counter",
                  "Purges whose shared-tier objects were not deleted (sweep queue full).",
                  static_cast<double>(dropped_.load(std::memory_order_relaxed)));
}

NodeAnnouncer::NodeAnnouncer(kv::KvStore& kv, std::string node_id, std::string value)
    : kv_(kv), key_(std::string(kv::NODE_KEY_PREFIX) + node_id), value_(std::move(value)) {
    announce(kv::NODE_ANNOUNCE_TTL);
    task_.emplace(kv::NODE_ANNOUNCE_INTERVAL, [this] { announce(kv::NODE_ANNOUNCE_TTL); });
}

NodeAnnouncer::~NodeAnnouncer() {
    task_.reset(); // no announcement after the withdrawal
    // A stopped node leaves the list at once: its value is made to expire now.
    announce(std::chrono::milliseconds(1));
}

void NodeAnnouncer::announce(std::chrono::milliseconds ttl) const {
    if (auto put = kv_.put_value(key_, value_, ttl); !put) {
        spdlog::debug("node announcement not written: {}", put.error().message);
    }
}

} // namespace cdn::app
