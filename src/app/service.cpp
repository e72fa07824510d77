#include "app/service.h"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include <unistd.h>

#include "api/api.h"
#include "api/common/authenticator.h"
#include "app/cluster.h"
#include "app/demo.h"
#include "app/metrics_listener.h"
#include "app/periodic_task.h"
#include "app/pid_file.h"
#include "app/purge_replay.h"
#include "app/secrets.h"
#include "app/stores.h"
#include "cache/disk_cache.h"
#include "cache/memory_cache.h"
#include "cache/tiered_cache.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/random.h"
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
#include "kv/node_announcement.h"
#include "kv/rate_limiter.h"
#include "security/keys.h"
#include "security/preview_pass.h"
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
    // Background: after a crash (no saved index) the node serves while its files are read,
    // rather than starting seconds later with a million of them (docs/perf.md).
    auto disk = cache::DiskCache::open(config.disk_path, config.disk_bytes,
                                       cache::DiskCache::Startup::Background);
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

/** `{"status":"...","<key>":["part",...]}` with Cache-Control: no-store. */
http::Response readiness_answer(int status, std::string_view word, std::string_view key,
                                const std::vector<std::string>& parts) {
    auto res = http::Response::json(
        status, fmt::format(R"({{"status":"{}","{}":["{}"]}})", word, key,
                            fmt::join(parts, "\",\"")));
    res.set_header("Cache-Control", "no-store");
    return res;
}

/** The /readyz answer (operations.md): an edge node serves from its caches without the database or
 *  the store, so it is 200 degraded and stays in the load balancer; an api node cannot do its role
 *  without them, 503. An all-in-one node still serves images from its caches, and its database is
 *  the one every node shares, so dropping it would drop every node at once: degraded as well.
 *  Without the KV store (Redis) every role still serves, with per-node limits and a short config
 *  TTL: only ever degraded, or a Redis outage would empty the load balancer. */
http::Response readiness(Role role, const std::vector<std::string>& failing, bool kv_available) {
    if (role == Role::Api && !failing.empty()) {
        return readiness_answer(503, "unavailable", "failing", failing);
    }
    auto degraded = failing;
    if (!kv_available) {
        degraded.emplace_back("kv");
    }
    if (degraded.empty()) {
        return http::Response::json(200, R"({"status":"ready"})");
    }
    return readiness_answer(200, "degraded", "degraded", degraded);
}

/** /healthz, /readyz and /metrics. */
void add_observability_routes(http::Router& router, Role role,
                              const core::MetricsRegistry& metrics, const Stores& stores,
                              const kv::KvStore& kv, net::thread_pool& blocking_pool,
                              const std::string& internal_secret, bool metrics_on_main_listener) {
    router.exact("/healthz", [](const http::Request&) -> net::awaitable<http::Response> {
        co_return http::Response::json(200, R"({"status":"ok"})");
    });
    router.exact("/readyz", [role, &stores, &kv, &blocking_pool](
                                const http::Request&) -> net::awaitable<http::Response> {
        // Bounded: the database's check() gives up after a second (PostgresDatabase::check).
        auto check = [&stores] { return failing_parts(stores); };
        const auto failing = co_await http::run_blocking(blocking_pool, std::move(check));
        co_return readiness(role, failing, kv.available());
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
        .config_fingerprint = config_fingerprint(config, internal_secret),
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

/** While the KV store is unreachable no invalidation arrives: cached configs are kept at most
 *  `degraded_ttl`, so changes still show. Once it is back, config changes announced meanwhile
 *  are lost: every cached config and unknown key or host is dropped (operations.md,
 *  docs/config.md); missed purges are PurgeReplay's. */
void follow_kv_availability(kv::KvStore& kv, edge::CustomerDirectory& customers,
                            std::chrono::seconds degraded_ttl) {
    kv.on_availability_change([&customers, degraded_ttl](bool available) {
        if (available) {
            customers.cap_ttl(std::nullopt);
            customers.invalidate_all();
        } else {
            customers.cap_ttl(degraded_ttl);
        }
    });
    if (!kv.available()) { // lost before the listener was there
        customers.cap_ttl(degraded_ttl);
    }
}

/** Start-up refusals that need nothing opened yet: the exit code, or nullopt to go on. */
std::optional<int> refuse_to_start(const Config& config, Role role) {
    if (role != Role::All && config.auth.internal_secret.empty()) {
        spdlog::critical("a split role (edge or api) needs [auth] internal_secret, shared by "
                         "every node");
        return 2;
    }
    if (auto ok = transform::init_vips("imagecdn"); !ok) {
        spdlog::critical("{}", ok.error().message);
        return 1;
    }
    return std::nullopt;
}

/** The node's two secrets, each configured or generated once into the data directory. */
struct Secrets {
    std::string internal;
    std::string jwt;
};

core::Result<Secrets> load_secrets(const Config& config) {
    // Both are resolved before either is checked: a first run creates both files.
    auto internal = secret_or_generated(config.auth.internal_secret, config.data_dir,
                                        "internal_secret");
    auto jwt = secret_or_generated(config.auth.jwt_secret, config.data_dir, "jwt_secret");
    if (!internal) {
        return internal.error();
    }
    if (!jwt) {
        return jwt.error();
    }
    return Secrets{.internal = std::move(*internal), .jwt = std::move(*jwt)};
}

/** This node as the KV store lists it (kv::NodeAnnouncement). */
std::string announcement(const Config& config, Role role, const std::string& node_id,
                         const Secrets& secrets) {
    char host[256] = {};
    (void)gethostname(host, sizeof(host) - 1);
    return kv::encode_announcement({
        .id = node_id,
        .role = role == Role::Edge ? "edge" : role == Role::Api ? "api" : "all",
        .version = IMAGECDN_VERSION,
        .started_at = core::SystemClock().unix_seconds(),
        .listen = config.server.listen,
        .host = host,
        .config_fingerprint = config_fingerprint(config, secrets.internal),
    });
}

// The parts below hold references to one another: members are declared in dependency order,
// so each is built after, and destroyed before, everything it refers to.

/** How soon after a reconnection the purges missed meanwhile are applied (at most). */
constexpr std::chrono::milliseconds PURGE_CATCH_UP_INTERVAL{100};

/** What the edge and the API share: time, metrics, caches, customers, KV, usage and quota. */
struct Shared {
    Shared(const Config& config, const Stores& stores, kv::KvStorePtr kv)
        : memory_cache(config.cache.memory_bytes, clock), disk_cache(open_disk_tier(config.cache)),
          variant_cache(memory_cache, disk_cache.get()),
          blocking_pool(std::max(4u, std::thread::hardware_concurrency())),
          customers(*stores.database, blocking_pool, clock,
                    std::chrono::seconds(config.cache.config_ttl_seconds),
                    std::chrono::seconds(config.cache.negative_ttl_seconds),
                    static_cast<std::uint32_t>(config.limits.max_output_dimension)),
          kv_store(std::move(kv)),
          purge_replay(*kv_store, variant_cache),
          purge_catch_up(PURGE_CATCH_UP_INTERVAL, [this] { (void)purge_replay.catch_up(); }),
          subscriptions(subscribe_invalidations(*kv_store, customers, variant_cache)),
          rate_limiter(*kv_store, clock, kv::RateLimiter::MAX_TRACKED_CUSTOMERS,
                       static_cast<std::uint32_t>(std::min<std::uint64_t>(
                           config.kv.expected_nodes, UINT32_MAX))),
          rate_reconciler(kv::RateLimiter::RECONCILE_INTERVAL,
                          [this] { (void)rate_limiter.reconcile(); }),
          usage(*stores.database, clock, std::chrono::milliseconds(config.usage.flush_interval_ms)),
          usage_repository(*stores.database),
          quota(usage_repository, usage, clock,
                std::chrono::seconds(config.usage.quota_refresh_seconds)) {
        follow_kv_availability(*kv_store, customers,
                               std::chrono::seconds(config.kv.degraded_config_ttl_seconds));
        kv_store->on_availability_change(purge_replay.listener());
        usage.start();
    }

    /** This process in the cluster: lease holder and announcement id. */
    const std::string node_id = core::random_hex(8);
    core::SystemClock clock;
    core::MetricsRegistry metrics;
    cache::MemoryCache memory_cache;
    std::unique_ptr<cache::DiskCache> disk_cache;
    cache::TieredCache variant_cache;
    net::thread_pool blocking_pool;
    edge::CustomerDirectory customers;
    kv::KvStorePtr kv_store; // after customers: its threads call into them
    /** Purges announced while the store was unreachable, applied once it is back. */
    PurgeReplay purge_replay;
    PeriodicTask purge_catch_up;
    std::vector<kv::Subscription> subscriptions;
    kv::RateLimiter rate_limiter;
    /** Off the request path: the limiter logs its own changes of state (degraded or not). */
    PeriodicTask rate_reconciler;
    usage::UsageRecorder usage;
    db::UsageRepository usage_repository;
    billing::BandwidthQuota quota;
};

/** Image delivery: the transform workers and the handler behind every image URL. */
struct Edge {
    Edge(const Config& config, Role role, const Stores& stores, Shared& shared,
         const Secrets& secrets)
        : transform_pool(transform_workers(config.limits), config.limits.transform_queue,
                         config.limits.transform_queue_per_customer,
                         {std::chrono::milliseconds(config.limits.transform_queue_standing_ms),
                          &shared.clock}),
          original_budget(config.limits.originals_in_flight_bytes),
          preview_counts(shared.clock),
          decoded_cache(config.cache.decoded_bytes),
          shared_tier(role == Role::Api ? nullptr
                                        : make_shared_tier(config, *stores.blobs, *shared.kv_store,
                                                           shared.clock, shared.node_id)),
          delivery({
              .customers = shared.customers,
              .store = *stores.blobs,
              .cache = shared.variant_cache,
              .blocking_pool = shared.blocking_pool,
              .transform_pool = transform_pool,
              .original_budget = original_budget,
              .limits = config.limits,
              .plans = config.plans,
              .grace = grace_policy(config.billing),
              .rate_limiter = shared.rate_limiter,
              .quota = shared.quota,
              .usage = shared.usage,
              .clock = shared.clock,
              .own_hosts = own_hosts(config.server),
              .preview_key = security::preview_pass_key(secrets.internal),
              .preview_counts = &preview_counts,
              .unmetered_previews_per_hour = config.tenant_limits.unmetered_previews_per_hour,
              .shared_tier = shared_tier.get(),
              .decoded_cache = config.cache.decoded_bytes > 0 ? &decoded_cache : nullptr,
          }) {}

    transform::WorkerPool transform_pool;
    edge::OriginalBudget original_budget;
    kv::MemoryKvStore preview_counts;
    transform::DecodedCache decoded_cache;
    std::unique_ptr<edge::SharedTier> shared_tier;
    edge::DeliveryHandler delivery;
};

/** The management API: Stripe, authentication, the API's routes and the overage reports. */
struct Api {
    Api(const Config& config, Role role, const Stores& stores, Shared& shared,
        const Secrets& secrets)
        : stripe(stripe_endpoint(config.stripe)),
          authenticator(*stores.database, secrets.jwt, shared.clock),
          router(authenticator, secrets.internal, shared.blocking_pool),
          deps{
              .db = *stores.database,
              .store = *stores.blobs,
              .kv = *shared.kv_store,
              .plans = config.plans,
              .clock = shared.clock,
              .limits = config.limits,
              .usage = shared.usage,
              .quota = shared.quota,
              .stripe = stripe,
              .grace = grace_policy(config.billing),
              .config = api_config(config, secrets.jwt, secrets.internal),
          },
          overage_reporter(*stores.database, stripe, config.plans, shared.clock,
                           config.billing.meter_event_name,
                           static_cast<std::int64_t>(config.billing.settle_seconds)),
          overage_reports(start_overage_reports(config, role, stripe, overage_reporter)) {
        if (role != Role::Edge && config.cache.shared_tier) {
            sweeper = std::make_unique<SharedTierSweeper>(*stores.blobs, *shared.kv_store,
                                                          shared.node_id);
        }
    }

    billing::StripeClient stripe;
    api::Authenticator authenticator;
    api::ApiRouter router;
    api::ApiDeps deps;
    billing::OverageReporter overage_reporter;
    std::unique_ptr<PeriodicTask> overage_reports;
    /** Purges' shared-tier objects, deleted by one API node per purge. */
    std::unique_ptr<SharedTierSweeper> sweeper;
};

/** The routes of a node in its role: the API and the dashboard unless edge-only, health and
 *  metrics always, and every other path to the edge (a 404 on an API-only node). */
http::Router node_routes(const Config& config, Role role, const Stores& stores, Shared& shared,
                         Edge& edge, Api& api, const Secrets& secrets) {
    http::Router router;
    if (role != Role::Edge) {
        api::add_routes(api.router, api.deps);
        api.router.mount(router);
    }
    add_observability_routes(router, role, shared.metrics, stores, *shared.kv_store,
                             shared.blocking_pool, secrets.internal,
                             config.metrics.listen.empty());
    if (role != Role::Edge) {
        http::StaticSite::mount(router, load_dashboard(config));
    }
    if (role != Role::Api) {
        router.fallback([&delivery = edge.delivery](const http::Request& req) {
            return delivery.handle(req);
        });
    } else {
        router.fallback([](const http::Request&) -> net::awaitable<http::Response> {
            co_return http::Response::error(
                core::make_error(core::Errc::NotFound, "this node serves the API only"));
        });
    }
    return router;
}

/** While the server runs: SIGTERM, SIGINT and SIGHUP handled on a thread of their own, and the
 *  pid file through which the operator CLI finds us. The file is written once the handlers
 *  are in place (a SIGHUP sent on seeing it must not kill us); it goes when the watch does,
 *  after the flush. */
class SignalWatch {
public:
    SignalWatch(http::Server& server, edge::CustomerDirectory& customers,
                const std::string& data_dir)
        : signals_(context_, SIGTERM, SIGINT, SIGHUP) {
        // A disk-tier hit goes out with sendfile(2), which has no MSG_NOSIGNAL: a client that
        // closes mid-answer must cost that answer an EPIPE, not the process its life (nginx
        // ignores SIGPIPE for the same reason).
        std::signal(SIGPIPE, SIG_IGN);
        handle_signals(signals_, server, customers);
        pid_file_.emplace(data_dir);
        thread_ = std::thread([this] { context_.run(); });
    }
    ~SignalWatch() { stop_thread(); }
    SignalWatch(const SignalWatch&) = delete;
    SignalWatch& operator=(const SignalWatch&) = delete;

    /** Drained: what is left is finishing work and exiting. A repeated SIGTERM (a supervisor,
     *  a test stopping us twice) must not cut the usage flush short, nor kill us at exit once
     *  the signal set is gone and the default action is back: from here on it is ignored. */
    void stop_and_ignore_signals() {
        stop_thread();
        boost::system::error_code ignored;
        signals_.clear(ignored);
        std::signal(SIGTERM, SIG_IGN);
        std::signal(SIGINT, SIG_IGN);
    }

private:
    void stop_thread() {
        if (thread_.joinable()) {
            context_.stop();
            thread_.join();
        }
    }

    net::io_context context_;
    net::signal_set signals_;
    std::optional<PidFile> pid_file_;
    std::thread thread_;
};

/** One node, built from the config in dependency order: shared parts, the edge, the API, the
 *  routes for its role, then the listeners. */
class Service {
public:
    Service(const Config& config, Role role, Stores& stores, kv::KvStorePtr kv,
            const Secrets& secrets)
        : config_(config), stores_(stores), shared_(config, stores, std::move(kv)),
          edge_(config, role, stores, shared_, secrets),
          api_(config, role, stores, shared_, secrets),
          router_(node_routes(config, role, stores, shared_, edge_, api_, secrets)),
          server_(config.server, router_, access_log_),
          metrics_listener_(shared_.metrics, access_log_),
          announcer_(*shared_.kv_store, shared_.node_id,
                     announcement(config, role, shared_.node_id, secrets)) {
        // Each module writes its own families.
        shared_.metrics.add_sources(server_, shared_.variant_cache, shared_.customers,
                                    shared_.rate_limiter, shared_.usage, edge_.transform_pool,
                                    edge_.decoded_cache, edge_.original_budget, edge_.delivery,
                                    *shared_.kv_store,
                                    *stores_.blobs);
        if (edge_.shared_tier) {
            shared_.metrics.add_source(*edge_.shared_tier);
        }
        if (api_.sweeper) {
            shared_.metrics.add_source(*api_.sweeper);
        }
    }

    /** Binds the main listener and `[metrics] listen`: the exit code when one cannot bind. */
    std::optional<int> listen() {
        if (auto listening = server_.listen(); !listening) {
            spdlog::critical("{}", listening.error().message);
            return 1;
        }
        if (!config_.metrics.listen.empty()) {
            if (auto listening = metrics_listener_.start(config_.server, config_.metrics.listen);
                !listening) {
                spdlog::critical("[metrics] listen: {}", listening.error().message);
                return 1;
            }
        }
        spdlog::info("listening on {}:{}",
                     config_.server.listen.substr(0, config_.server.listen.rfind(':')),
                     server_.port());
        return std::nullopt;
    }

    /** `serve --demo`: a demo customer whose URLs use the port just bound. A failure is
     *  logged, not fatal: the service itself is fine. */
    void create_demo() {
        api::images::Originals originals(api_.deps);
        if (auto demo = ensure_demo(stores_, config_, server_.port(), originals); !demo) {
            spdlog::error("demo set-up failed: {}", demo.error().message);
        }
    }

    /** Serves until SIGTERM or SIGINT, then drains, stops the workers and flushes: exit 0. */
    int serve() {
        SignalWatch signals(server_, shared_.customers, config_.data_dir);
        server_.run();
        metrics_listener_.stop();
        signals.stop_and_ignore_signals();
        stop_workers();
        flush();
        spdlog::info("stopped");
        return 0;
    }

private:
    /** Workers report to the server's executor: stop them while it still exists. */
    void stop_workers() {
        edge_.transform_pool.shutdown();
        shared_.blocking_pool.join();
    }

    /** After the drain: every answered request is counted, then written. */
    void flush() {
        shared_.usage.stop();
        (void)api_.authenticator.flush();
        access_log_.flush();
    }

    const Config& config_;
    Stores& stores_;
    Shared shared_;
    Edge edge_;
    Api api_;
    http::Router router_;
    http::AccessLog access_log_;
    http::Server server_;
    MetricsListener metrics_listener_;
    NodeAnnouncer announcer_;
};

} // namespace

int run_service(const Config& config, bool with_demo, Role role) {
    if (const auto refused = refuse_to_start(config, role)) {
        return *refused;
    }
    auto stores = open_stores(config);
    if (!stores) {
        spdlog::critical("{} ({})", stores.error().message, stores.error().detail);
        return 1;
    }
    auto kv = open_kv_store(config);
    if (!kv) {
        spdlog::critical("{} ({})", kv.error().message, kv.error().detail);
        return 1;
    }
    auto secrets = load_secrets(config);
    if (!secrets) {
        // A secret file others may read is the operator's to fix (exit 2, like bad config).
        spdlog::critical("{}", secrets.error().message);
        return secrets.error().code == core::Errc::Forbidden ? 2 : 1;
    }
    Service service(config, role, *stores, std::move(*kv), *secrets);
    if (const auto failed = service.listen()) {
        return *failed;
    }
    if (with_demo) {
        service.create_demo();
    }
    return service.serve();
}

} // namespace cdn::app
