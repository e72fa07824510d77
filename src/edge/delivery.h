#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>

#include "billing/plan.h"
#include "cache/single_flight.h"
#include "cache/tiered_cache.h"
#include "core/metrics.h"
#include "edge/customer_directory.h"
#include "edge/image_url.h"
#include "http/message.h"
#include "storage/blob_store.h"
#include "transform/limits.h"
#include "transform/negotiate.h"
#include "transform/worker_pool.h"

namespace cdn::edge {

/** What the delivery path uses; app/ wires the concrete parts. */
struct DeliveryDeps {
    CustomerDirectory& customers;
    storage::BlobStore& store;
    cache::TieredCache& cache;
    /** Runs database and store calls, so the I/O threads never block on them. */
    boost::asio::thread_pool& blocking_pool;
    transform::WorkerPool& transform_pool;
    const transform::Limits& limits;
    const billing::PlanTable& plans;
};

/**
 * `GET|HEAD /{public_key}/{path}?{options}`: the edge's request path as the ordered steps of
 * delivery.md — parse, resolve the customer, negotiate, look up the cache, coalesce misses,
 * fetch the original, transform, store the variant, respond.
 */
class DeliveryHandler {
public:
    explicit DeliveryHandler(DeliveryDeps deps);

    boost::asio::awaitable<http::Response> handle(const http::Request& request);

    void write_metrics(core::MetricWriter& writer) const;

    /** A variant as produced on a miss, with the timings for Server-Timing. */
    struct Produced {
        cache::VariantPtr variant;
        /** MISS, or HIT when the disk tier had it after all. */
        std::string_view cache_status = "MISS";
        double fetch_ms = 0;
        double transform_ms = 0;
        double encode_ms = 0;
    };

private:
    using ProducedResult = core::Result<Produced>;

    boost::asio::awaitable<core::Result<CustomerPtr>> resolve_customer(std::string_view public_key);
    const billing::Plan& plan_of(const db::CustomerRecord& customer) const;
    boost::asio::awaitable<ProducedResult> produce(const ImageUrl& url, std::string key,
                                                   const transform::TransformSpec* spec);
    boost::asio::awaitable<ProducedResult> transform_original(storage::Object original,
                                                              std::string key,
                                                              const transform::TransformSpec& spec);
    /** What a miss in memory finds, looking where it blocks: the disk tier, then the store. */
    struct Fetched {
        cache::VariantPtr cached;
        /** The original; neither set means there is none. */
        std::optional<storage::Object> original;
    };
    core::Result<Fetched> fetch(const ImageUrl& url, const std::string& key);
    void store(const cache::VariantPtr& variant);
    boost::asio::awaitable<ProducedResult> keep_original(storage::Object original, std::string key);

    DeliveryDeps deps_;
    cache::SingleFlight<ProducedResult> flights_;
    core::Histogram transform_seconds_{{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
};

} // namespace cdn::edge
