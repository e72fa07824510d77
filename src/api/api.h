#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/common/api_router.h"
#include "billing/bandwidth_quota.h"
#include "billing/billing_state.h"
#include "account/plan.h"
#include "billing/stripe_client.h"
#include "core/clock.h"
#include "db/database.h"
#include "kv/kv_store.h"
#include "storage/blob_store.h"
#include "transform/limits.h"
#include "usage/usage_recorder.h"

namespace cdn::api {

/** Settings of the API from the service config ([auth], [server]). */
struct ApiConfig {
    std::string jwt_secret;
    std::string internal_secret;
    std::chrono::seconds access_ttl{900};
    std::chrono::seconds refresh_ttl{2'592'000};
    /** Where this server is reached, for URLs the API hands out (upload URLs, signed URLs). */
    std::string public_base_url;
    /** The Stripe webhook endpoint's signing secret (whsec_...); empty refuses every event. */
    std::string stripe_webhook_secret;
    /** [storage] max_path_segments: deeper image paths are 400 invalid_path. */
    std::size_t max_path_segments = 32;
    /** [limits] purge_requests_per_minute: purges, and settings writes alike, per customer. */
    std::uint64_t purge_requests_per_minute = 60;
    /** A hash of the settings every node must share (app::config_fingerprint): nodes that
     *  announce another one are flagged by `GET /internal/v1/nodes`. */
    std::string config_fingerprint;

    /** `public_base_url` + `path` (which starts with '/'), for URLs handed to clients. */
    std::string url_for(std::string_view path) const;
};

/** What the API modules use; app/ wires the concrete parts. */
struct ApiDeps {
    db::Database& db;
    storage::BlobStore& store;
    /** Config and purge announcements (pub/sub), login attempt counters. */
    kv::KvStore& kv;
    const account::PlanTable& plans;
    const core::Clock& clock;
    const transform::Limits& limits;
    usage::UsageRecorder& usage;
    billing::BandwidthQuota& quota;
    billing::StripeClient& stripe;
    /** How long a past-due customer keeps its plan's limits. */
    billing::GracePolicy grace;
    ApiConfig config;

    /** The plan whose limits apply to `customer` now (free once past due beyond grace). */
    const account::Plan& plan_of(const db::CustomerRecord& customer) const;
};

/** A handler taking the API's dependencies: the route's ApiHandler calling `handler(deps, r)`. */
using DepsHandler = core::Result<http::Response> (*)(ApiDeps& deps, ApiRequest& request);
inline ApiHandler with_deps(ApiDeps& deps, DepsHandler handler) {
    return [&deps, handler](ApiRequest& request) { return handler(deps, request); };
}

/** Adds every module's routes (auth, keys, customer, images, usage, presets, purge, internal,
 *  openapi) to `router`. */
void add_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
