#include "app/service.h"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include "api/api.h"
#include "api/common/authenticator.h"
#include "app/demo.h"
#include "app/metrics_listener.h"
#include "app/periodic_task.h"
#include "app/pid_file.h"
#include "app/secrets.h"
#include "app/stores.h"
#include "cache/disk_cache.h"
#include "cache/memory_cache.h"
#include "cache/tiered_cache.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "billing/bandwidth_quota.h"
#include "billing/overage_reporter.h"
#include "cache/purge.h"
#include "core/strings.h"
#include "db/usage_repository.h"
#include "edge/customer_directory.h"
#include "edge/delivery.h"
#include "http/access_log.h"
#include "http/blocking.h"
#include "http/router.h"
#include "http/server.h"
#include "http/static_site.h"
#include "kv/channels.h"
#include "kv/memory_kv_store.h"
#include "kv/rate_limiter.h"
#include "security/keys.h"
#include "transform/vips_runtime.h"
#include "transform/worker_pool.h"
#include "usage/usage_recorder.h"

namespace cdn::app {
namespace {

namespace net = boost::asio;

std::unique_ptr<cache::DiskCache> open_disk_tier(const CacheConfig& config) {
    if (config.disk_bytes == 0) {
        return nullptr;
    }
    auto disk = cache::DiskCache::open(config.disk_path, config.disk_bytes);
    if (!disk) {
        // The disk tier is an optimisation: without it the service still serves.
        spdlog::warn("disk cache disabled: {} ({})", disk.error().message, disk.error().detail);
        return nullptr;
    }
    return std::move(*disk);
}

/** One worker per core unless configured: the measured throughput optimum (docs/perf.md). */
unsigned transform_workers(const transform::Limits& limits) {
    if (limits.max_concurrent_transforms > 0) {
        return static_cast<unsigned>(limits.max_concurrent_transforms);
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

/** The parts that are not ready; blocking (it asks the database and the store). */
std::vector<std::string> failing_parts(const Stores& stores) {
    std::vector<std::string> failing;
    if (!stores.database->check()) {
        failing.push_back("database");
    }
    if (!stores.blobs->check()) {
        failing.push_back("store");
    }
    return failing;
}

/** /healthz, /readyz and /metrics. */
void add_observability_routes(http::Router& router, const core::MetricsRegistry& metrics,
                              const Stores& stores, net::thread_pool& blocking_pool,
                              const std::string& internal_secret, bool metrics_on_main_listener) {
    router.exact("/healthz", [](const http::Request&) -> net::awaitable<http::Response> {
        co_return http::Response::json(200, R"({"status":"ok"})");
    });
    router.exact("/readyz", [&stores, &blocking_pool](
                                const http::Request&) -> net::awaitable<http::Response> {
        auto check = [&stores] { return failing_parts(stores); };
        const auto failing = co_await http::run_blocking(blocking_pool, std::move(check));
        if (failing.empty()) {
            co_return http::Response::json(200, R"({"status":"ready"})");
        }
        auto res = http::Response::json(
            503, fmt::format(R"({{"status":"unavailable","failing":["{}"]}})",
                             fmt::join(failing, "\",\"")));
        res.set_header("Cache-Control", "no-store");
        co_return res;
    });
    if (!metrics_on_main_listener) {
        return;
    }
    router.exact("/metrics", [&metrics, internal_secret](
                                 const http::Request& req) -> net::awaitable<http::Response> {
        const auto auth = req.header("authorization").value_or("");
        if (!security::constant_time_equals(auth, "Bearer " + internal_secret)) {
            co_return http::Response::error(
                core::make_error(core::Errc::Unauthorized, "metrics need the internal secret"));
        }
        co_return http::Response::text(200, "text/plain; version=0.0.4", metrics.render());
    });
}

/** "https://host:port" of a URL, or "" when it has no scheme. */
std::string origin_of(std::string_view url) {
    const auto scheme = url.find("://");
    if (scheme == std::string_view::npos) {
        return {};
    }
    return std::string(url.substr(0, url.find('/', scheme + 3)));
}

/** The dashboard (dashboard.md): the built app under /dashboard/, with a strict CSP. Images
 *  come from the edge (public_base_url); S3 uploads go straight to the store. */
std::shared_ptr<const http::StaticSite> load_dashboard(const Config& config) {
    const auto edge = origin_of(config.server.public_base_url);
    const auto store = config.storage.kind == "s3" ? origin_of(config.storage.endpoint) : "";
    const auto csp = fmt::format(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:{}{}; "
        "connect-src 'self'{}{}; font-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'",
        edge.empty() ? "" : " ", edge, store.empty() ? "" : " ", store);
    auto site = http::StaticSite::load({
        .url_prefix = "/dashboard/",
        .directory = config.dashboard.dir,
        .headers = {{"Content-Security-Policy", csp},
                    {"X-Frame-Options", "DENY"},
                    {"Referrer-Policy", "strict-origin-when-cross-origin"},
                    {"X-Content-Type-Options", "nosniff"}},
        .unavailable_message = "the dashboard is not built on this server",
    });
    if (site->ready()) {
        spdlog::info("dashboard: {} files ({} bytes) from {}", site->file_count(),
                     site->total_bytes(), config.dashboard.dir);
    } else {
        spdlog::warn("dashboard: {}; /dashboard/ answers 503 (build it, or set [dashboard] dir)",
                     site->problem());
    }
    return site;
}

/** SIGTERM or SIGINT: drain and stop. SIGHUP: forget every cached customer config, so that a
 *  change made by the operator CLI (another process) is seen at once. */
void handle_signals(net::signal_set& signals, http::Server& server,
                    edge::CustomerDirectory& customers) {
    signals.async_wait([&signals, &server, &customers](const boost::system::error_code& ec,
                                                       int signal) {
        if (ec) {
            return;
        }
        if (signal == SIGHUP) {
            spdlog::info("SIGHUP: customer configs reloaded");
            customers.invalidate_all();
            handle_signals(signals, server, customers);
            return;
        }
        spdlog::info("signal {}: draining", signal);
        server.shutdown();
    });
}

/** The service's own host names, from public_base_url: never custom domains. */
std::vector<std::string> own_hosts(const http::ServerConfig& server) {
    std::string_view url = server.public_base_url;
    if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
        url.remove_prefix(scheme + 3);
    }
    url = url.substr(0, url.find_first_of(":/"));
    return {core::to_lower(url)};
}

/** A configured secret, else one generated once into the data directory. */
core::Result<std::string> secret_or_generated(const std::string& configured,
                                              const std::string& data_dir, const char* name) {
    if (!configured.empty()) {
        return configured;
    }
    return load_or_create_secret(data_dir, name);
}

api::ApiConfig api_config(const Config& config, const std::string& jwt_secret,
                          const std::string& internal_secret) {
    return {
        .jwt_secret = jwt_secret,
        .internal_secret = internal_secret,
        .access_ttl = std::chrono::seconds(config.auth.access_ttl_seconds),
        .refresh_ttl = std::chrono::seconds(config.auth.refresh_ttl_seconds),
        .public_base_url = config.server.public_base_url,
        .stripe_webhook_secret = config.stripe.webhook_secret,
        .max_path_segments = static_cast<std::size_t>(config.storage.max_path_segments),
        .purge_requests_per_minute = config.tenant_limits.purge_requests_per_minute,
    };
}

/** Hourly (by default) overage reports to Stripe, on nodes that serve the API. */
std::unique_ptr<PeriodicTask> start_overage_reports(const Config& config, Role role,
                                                    const billing::StripeClient& stripe,
                                                    billing::OverageReporter& reporter) {
    const auto interval = config.billing.overage_report_interval_seconds;
    if (role == Role::Edge || !stripe.configured() || interval == 0) {
        return nullptr;
    }
    return std::make_unique<PeriodicTask>(std::chrono::seconds(interval), [&reporter] {
        if (auto run = reporter.run(); !run) {
            spdlog::error("overage reports: {} ({})", run.error().message, run.error().detail);
        } else if (run->sent + run->failed > 0) {
            spdlog::info("overage reports: {} sent, {} failed", run->sent, run->failed);
        }
    });
}

/** Every edge node listens for config changes and purges announced on the KV channels. */
std::vector<kv::Subscription> subscribe_invalidations(kv::KvStore& kv,
                                                      edge::CustomerDirectory& customers,
                                                      cache::TieredCache& variants) {
    std::vector<kv::Subscription> subscriptions;
    subscriptions.push_back(kv.subscribe(std::string(kv::CONFIG_CHANNEL),
                                         [&customers](std::string_view public_key) {
                                             if (public_key == kv::ALL_CUSTOMERS) {
                                                 customers.invalidate_all();
                                             } else {
                                                 customers.invalidate(public_key);
                                             }
                                         }));
    subscriptions.push_back(
        kv.subscribe(std::string(cache::PURGE_CHANNEL), [&variants](std::string_view message) {
            auto request = cache::decode_purge(message);
            if (!request) {
                spdlog::warn("ignored a malformed purge message: {}", request.error().message);
                return;
            }
            const auto dropped = cache::apply_purge(variants, *request);
            spdlog::info("purged {} variants of {}", dropped, request->public_key);
        }));
    return subscriptions;
}

} // namespace

int run_service(const Config& config, bool with_demo, Role role) {
    if (role != Role::All && config.auth.internal_secret.empty()) {
        spdlog::critical("a split role (edge or api) needs [auth] internal_secret, shared by "
                         "every node");
        return 2;
    }
    if (auto ok = transform::init_vips("imagecdn"); !ok) {
        spdlog::critical("{}", ok.error().message);
        return 1;
    }
    if (!config.kv.url.empty()) {
        // Redis (shared counters, pub/sub across nodes) is not in this build yet: refusing is
        // better than silently enforcing per-node limits on a fleet.
        spdlog::critical("kv.url is set, but this build supports only the in-process KV store");
        return 1;
    }
    auto stores = open_stores(config);
    if (!stores) {
        spdlog::critical("{} ({})", stores.error().message, stores.error().detail);
        return 1;
    }
    auto internal_secret = secret_or_generated(config.auth.internal_secret, config.data_dir,
                                               "internal_secret");
    auto jwt_secret = secret_or_generated(config.auth.jwt_secret, config.data_dir, "jwt_secret");
    for (const auto* secret : {&internal_secret, &jwt_secret}) {
        if (!*secret) {
            // A secret file others may read is the operator's to fix (exit 2, like bad config).
            spdlog::critical("{}", secret->error().message);
            return secret->error().code == core::Errc::Forbidden ? 2 : 1;
        }
    }

    core::SystemClock clock;
    core::MetricsRegistry metrics;
    cache::MemoryCache memory_cache(config.cache.memory_bytes, clock);
    auto disk_cache = open_disk_tier(config.cache);
    cache::TieredCache variant_cache(memory_cache, disk_cache.get());
    net::thread_pool blocking_pool(std::max(4u, std::thread::hardware_concurrency()));
    edge::CustomerDirectory customers(
        *stores->database, blocking_pool, clock,
        std::chrono::seconds(config.cache.config_ttl_seconds),
        std::chrono::seconds(config.cache.negative_ttl_seconds),
        static_cast<std::uint32_t>(config.limits.max_output_dimension));
    kv::MemoryKvStore kv_store(clock);
    const auto subscriptions = subscribe_invalidations(kv_store, customers, variant_cache);
    kv::RateLimiter rate_limiter(kv_store, clock);
    usage::UsageRecorder usage(*stores->database, clock,
                               std::chrono::milliseconds(config.usage.flush_interval_ms));
    usage.start();
    db::UsageRepository usage_repository(*stores->database);
    billing::BandwidthQuota quota(usage_repository, usage, clock,
                                  std::chrono::seconds(config.usage.quota_refresh_seconds));
    transform::WorkerPool transform_pool(transform_workers(config.limits),
                                         config.limits.transform_queue,
                                         config.limits.transform_queue_per_customer);
    edge::DeliveryHandler delivery({
        .customers = customers,
        .store = *stores->blobs,
        .cache = variant_cache,
        .blocking_pool = blocking_pool,
        .transform_pool = transform_pool,
        .limits = config.limits,
        .plans = config.plans,
        .grace = grace_policy(config.billing),
        .rate_limiter = rate_limiter,
        .quota = quota,
        .usage = usage,
        .clock = clock,
        .own_hosts = own_hosts(config.server),
    });

    billing::StripeClient stripe(stripe_endpoint(config.stripe));
    api::Authenticator authenticator(*stores->database, *jwt_secret, clock);
    api::ApiRouter api_router(authenticator, *internal_secret, blocking_pool);
    api::ApiDeps api_deps{
        .db = *stores->database,
        .store = *stores->blobs,
        .kv = kv_store,
        .plans = config.plans,
        .clock = clock,
        .limits = config.limits,
        .usage = usage,
        .quota = quota,
        .stripe = stripe,
        .grace = grace_policy(config.billing),
        .config = api_config(config, *jwt_secret, *internal_secret),
    };
    billing::OverageReporter overage_reporter(
        *stores->database, stripe, config.plans, clock, config.billing.meter_event_name,
        static_cast<std::int64_t>(config.billing.settle_seconds));
    const auto overage_reports = start_overage_reports(config, role, stripe, overage_reporter);
    http::Router router;
    if (role != Role::Edge) {
        api::add_routes(api_router, api_deps);
        api_router.mount(router);
    }
    add_observability_routes(router, metrics, *stores, blocking_pool, *internal_secret,
                             config.metrics.listen.empty());
    if (role != Role::Edge) {
        http::StaticSite::mount(router, load_dashboard(config));
    }
    if (role != Role::Api) {
        router.fallback([&delivery](const http::Request& req) { return delivery.handle(req); });
    } else {
        router.fallback([](const http::Request&) -> net::awaitable<http::Response> {
            co_return http::Response::error(
                core::make_error(core::Errc::NotFound, "this node serves the API only"));
        });
    }

    http::AccessLog access_log;
    http::Server server(config.server, router, access_log);
    // Each module writes its own families.
    metrics.add_sources(server, variant_cache, customers, rate_limiter, usage, transform_pool,
                        delivery);
    if (auto listening = server.listen(); !listening) {
        spdlog::critical("{}", listening.error().message);
        return 1;
    }
    MetricsListener metrics_listener(metrics, access_log);
    if (!config.metrics.listen.empty()) {
        if (auto listening = metrics_listener.start(config.server, config.metrics.listen);
            !listening) {
            spdlog::critical("[metrics] listen: {}", listening.error().message);
            return 1;
        }
    }
    spdlog::info("listening on {}:{}", config.server.listen.substr(0, config.server.listen.rfind(':')),
                 server.port());
    if (with_demo) {
        api::images::Originals originals(api_deps);
        if (auto demo = ensure_demo(*stores, config, server.port(), originals); !demo) {
            spdlog::error("demo set-up failed: {}", demo.error().message);
        }
    }

    net::io_context signal_context;
    net::signal_set signals(signal_context, SIGTERM, SIGINT, SIGHUP);
    handle_signals(signals, server, customers);
    PidFile pid_file(config.data_dir);
    std::thread signal_thread([&signal_context] { signal_context.run(); });

    server.run();
    metrics_listener.stop();
    signal_context.stop();
    signal_thread.join();
    // Drained: what is left is finishing work and exiting. A repeated SIGTERM (a supervisor, a
    // test stopping us twice) must not cut the usage flush short, nor kill us at exit once the
    // signal set is gone and the default action is back: from here on it is ignored.
    boost::system::error_code ignored;
    signals.clear(ignored);
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGINT, SIG_IGN);
    // Workers report to the server's executor: stop them while it still exists.
    transform_pool.shutdown();
    blocking_pool.join();
    // After the drain: every answered request is counted, then written.
    usage.stop();
    (void)authenticator.flush();
    access_log.flush();
    spdlog::info("stopped");
    return 0;
}

} // namespace cdn::app
