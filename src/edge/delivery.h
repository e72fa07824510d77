#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <array>
#include <atomic>
#include <optional>

#include "billing/bandwidth_quota.h"
#include "billing/billing_state.h"
#include "account/plan.h"
#include "cache/single_flight.h"
#include "cache/status.h"
#include "cache/tiered_cache.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "edge/original_budget.h"
#include "edge/customer_directory.h"
#include "edge/image_url.h"
#include "edge/shared_tier.h"
#include "http/message.h"
#include "kv/rate_limiter.h"
#include "kv/window_limiter.h"
#include "storage/blob_store.h"
#include "transform/decoded_cache.h"
#include "transform/limits.h"
#include "transform/negotiate.h"
#include "transform/worker_pool.h"
#include "usage/usage_recorder.h"

namespace cdn::edge {

/** What the delivery path uses; app/ wires the concrete parts. */
struct DeliveryDeps {
    CustomerDirectory& customers;
    storage::BlobStore& store;
    cache::TieredCache& cache;
    /** Runs database and store calls, so the I/O threads never block on them. */
    boost::asio::thread_pool& blocking_pool;
    transform::WorkerPool& transform_pool;
    /** Bytes of originals held for misses in flight ([limits] originals_in_flight_bytes). */
    OriginalBudget& original_budget;
    const transform::Limits& limits;
    const account::PlanTable& plans;
    /** A past-due customer keeps its plan this long, then gets free limits. */
    billing::GracePolicy grace;
    kv::RateLimiter& rate_limiter;
    billing::BandwidthQuota& quota;
    usage::UsageRecorder& usage;
    const core::Clock& clock;
    /** Host names of the service itself (lowercase, no port): never looked up as custom
     *  domains. IP literals and localhost never are either. */
    std::vector<std::string> own_hosts;
    /** Checks the dashboard's preview pass (security/preview_pass.h); empty: none is valid. */
    std::string preview_key = {};
    /** Counts each customer's unmetered previews on this node (an in-process store: the
     *  check runs on the I/O thread); nullptr: no cap. */
    kv::KvStore* preview_counts = nullptr;
    /** `[limits] unmetered_previews_per_hour`: previews beyond it are metered. */
    std::uint64_t unmetered_previews_per_hour = 600;
    /** The cluster's shared variant tier (`[cache] shared_tier`), or nullptr without one. */
    SharedTier* shared_tier = nullptr;
    /** Decoded originals shared by the variants of one original (`[cache] decoded_bytes`),
     *  or nullptr: every transform decodes its original. */
    transform::DecodedCache* decoded_cache = nullptr;
};

/**
 * `GET|HEAD /{public_key}/{path}?{options}` (or `/{path}` on a custom domain, and both under
 * Cloudflare's `/cdn-cgi/image/<options>` prefix): the edge's
 * request path as the ordered steps of delivery.md — parse, customer, rate limit, policy
 * (allowlist, signature, presets), negotiate, quota, cache (memory, then disk, then the
 * cluster's shared tier), then one fetch → transform → store per key however many requests miss
 * at once (on this node, and with Redis in the whole cluster), respond, record usage.
 */
class DeliveryHandler {
public:
    explicit DeliveryHandler(DeliveryDeps deps);

    boost::asio::awaitable<http::Response> handle(const http::Request& request);

    /** The edge's own families: transform time, policy refusals, overage bytes. */
    void write_metrics(core::MetricWriter& writer) const;

    /** A variant as produced on a miss, with the timings for Server-Timing. */
    struct Produced {
        cache::VariantPtr variant;
        /** Miss, Hit when a flight that ended meanwhile had stored it, HitShared from the
         *  cluster's shared tier (also after waiting for another node's transform), or Stale
         *  when the store failed and the cache still had the variant past its freshness. */
        cache::Status cache_status = cache::Status::Miss;
        bool transformed = false;
        double fetch_ms = 0;
        double transform_ms = 0;
        double encode_ms = 0;
    };

    /** What the steps learn about one request, in the order they learn it. */
    struct Delivery {
        const http::Request& request;
        transform::DeliveryOptions options;
        bool signed_request = false;
        /** Cloudflare's onerror=redirect: a transform failure redirects to the original. */
        bool redirect_on_error = false;
        /** The original's path as sent under /cdn-cgi/image/<options>, for that redirect. */
        std::string original_location;
        /** The query had nothing but preset, v, s and exp (presets_only). */
        bool only_preset_params = true;
        /** The Host, when it may be a customer's custom domain (looked up in step 2). */
        std::optional<std::string> custom_domain;
        /** The path as `/{public_key}/{path}` and, with a custom_domain, as `/{path}`: which
         *  one holds depends on whether the Host is a customer's domain. */
        core::Result<ImageUrl> keyed_url;
        std::optional<core::Result<ImageUrl>> domain_url;
        ImageUrl url;
        CustomerPtr customer;
        const account::Plan* plan = nullptr;
        std::chrono::milliseconds retry_after{0};
        std::optional<transform::Negotiated> negotiated;
        std::string cache_key;
        /** Served beyond the plan's monthly quota (paid plans: overage). */
        bool over_quota = false;
        /** The answer's variant, once the cache or a producer has it. */
        cache::VariantPtr variant;
        cache::Status cache_status = cache::Status::Miss;
        std::string server_timing;
        bool transformed = false;
    };

private:
    using ProducedResult = core::Result<Produced>;
    using Step = core::Result<void>;

    boost::asio::awaitable<http::Response> deliver(Delivery& d);
    Step parse(Delivery& d) const;
    /** The image path: the request's, or the source of Cloudflare's `/cdn-cgi/image/<options>`
     *  form, whose options are put before the query's in `params`. */
    static core::Result<std::string_view> take_cloudflare_options(Delivery& d,
                                                                  core::QueryParams& params);
    boost::asio::awaitable<Step> find_customer(Delivery& d);
    /** The URL as the customer found reads it; the customer by public key when no Host did. */
    boost::asio::awaitable<Step> find_customer_by_key(Delivery& d);
    Step admit_customer(Delivery& d) const;
    Step limit_rate(Delivery& d);
    Step apply_policy(Delivery& d) const;
    Step check_domain(const Delivery& d) const;
    Step check_signature(const Delivery& d) const;
    Step apply_preset(Delivery& d) const;
    /** The spec to run (plan gates, Accept, client hints) and the cache key it gives. */
    Step negotiate(Delivery& d) const;
    boost::asio::awaitable<Step> check_quota(Delivery& d);
    void refresh_quota_in_background(const std::string& customer_id, const account::Plan& plan);
    /** Memory, then disk (on the blocking pool); sets d.variant on a hit. */
    boost::asio::awaitable<void> look_up_cache(Delivery& d);
    /** After a miss: one fetch → transform → store per key (single-flight). */
    boost::asio::awaitable<Step> produce_once(Delivery& d);
    /** The cache step's last tier, for transforms: the cluster's shared tier (waiting for the
     *  node that holds the variant's lease, if one does). A hit fills this node's tiers. */
    boost::asio::awaitable<SharedTier::Found> look_up_shared(const ImageUrl& url,
                                                             const std::string& key,
                                                             const transform::TransformSpec* spec,
                                                             std::uint64_t purge_generation);
    /** Step 12's last part: the variant to the shared tier, after the answer. */
    void share(const ImageUrl& url, SharedTier::Found shared, const std::string& original_version,
               const cache::VariantPtr& variant, std::uint64_t purge_generation);
    http::Response respond(const Delivery& d) const;
    /** The customer's Cache-Control, its max-age cut to what is left of a signed URL's exp. */
    std::string cache_control(const Delivery& d) const;
    http::Response fail(const Delivery& d, const core::Error& error);
    void record_usage(const Delivery& d, const http::Response& res);
    /** A request of the customer's own dashboard: a valid preview pass for this customer. */
    bool own_preview(const Delivery& d) const;

    /** Unix seconds when a variant made now for `d` goes stale (CachedVariant::fresh_until). */
    std::int64_t fresh_until(const Delivery& d) const;
    boost::asio::awaitable<ProducedResult> produce(const ImageUrl& url, std::string key,
                                                   std::int64_t fresh_until,
                                                   const transform::TransformSpec* spec,
                                                   const transform::JobOwner& owner);
    /** 9, when the store failed: the key's stale variant if the cache still has one (X-Cache:
     *  STALE), else the failure itself (502 origin_unavailable; never cached). */
    boost::asio::awaitable<ProducedResult> stale_on_failure(const std::string& key,
                                                            core::Error failure);
    /** 503 busy when the transform queue would refuse `owner`'s job now; else `place` holds
     *  its queue place while the original is read. Cheap enough for the I/O thread. */
    core::Result<void> reserve_transform(const transform::JobOwner& owner,
                                         transform::Reservation& place);
    /** Who submits a transform, and the queue place held for it. */
    struct Submitter {
        const transform::JobOwner& owner;
        transform::Reservation& place;
    };
    /** The original (nullopt for none) from the store. Blocks. */
    core::Result<std::optional<storage::Object>> fetch(const ImageUrl& url);
    /** The variant made of `original`: transformed by `spec`, or as it is without one, or the
     *  cached 404 when there is no original. */
    boost::asio::awaitable<ProducedResult> transform(std::optional<storage::Object> original,
                                                     std::string key, std::int64_t fresh_until,
                                                     const transform::TransformSpec* spec,
                                                     Submitter submitter);
    boost::asio::awaitable<ProducedResult> transform_original(storage::Object original,
                                                              std::string key,
                                                              std::int64_t fresh_until,
                                                              const transform::TransformSpec& spec,
                                                              Submitter submitter);
    boost::asio::awaitable<ProducedResult> keep_original(storage::Object original, std::string key,
                                                         std::int64_t fresh_until,
                                                         const transform::JobOwner& owner);
    void store(const cache::VariantPtr& variant, std::uint64_t purge_generation);
    cache::VariantPtr make_variant(std::string key, std::int64_t fresh_until,
                                   std::string content_type, std::string body,
                                   std::int64_t last_modified) const;
    cache::VariantPtr not_found_variant(std::string key) const;
    double ms_since(std::chrono::steady_clock::time_point start) const;

    /** Requests refused by a policy step, by error code, for /metrics. */
    static constexpr std::array POLICY_ERRORS{
        core::Errc::RateLimited,      core::Errc::DomainNotAllowed, core::Errc::InvalidSignature,
        core::Errc::SignatureExpired, core::Errc::FeatureNotInPlan, core::Errc::QuotaExceeded,
        core::Errc::UnknownPreset,    core::Errc::PresetsOnly,      core::Errc::CustomerSuspended,
        core::Errc::UnknownCustomer,
    };

    DeliveryDeps deps_;
    cache::SingleFlight<ProducedResult> flights_;
    core::Histogram transform_seconds_{{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
    std::array<std::atomic<std::uint64_t>, POLICY_ERRORS.size()> refused_{};
    std::atomic<std::uint64_t> overage_bytes_{0};
    std::atomic<std::uint64_t> previews_unmetered_{0};
    std::atomic<std::uint64_t> transforms_{0};
};

} // namespace cdn::edge
