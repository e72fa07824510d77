#include "edge/delivery.h"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "cache/cache_key.h"
#include "core/hash.h"
#include "core/strings.h"
#include "edge/response.h"
#include "edge/transform_runner.h"
#include "http/blocking.h"
#include "http/client_address.h"
#include "security/domain_allowlist.h"
#include "security/preview_pass.h"
#include "security/url_signing.h"
#include "transform/cloudflare_options.h"
#include "transform/deadline.h"
#include "transform/engine.h"
#include "transform/media_type.h"
#include "transform/options.h"

namespace cdn::edge {
namespace {

namespace net = boost::asio;

constexpr auto NOT_FOUND_TTL = std::chrono::seconds(60);

/** format=json: what the original is and what the output would be. */
std::string describe(const transform::EncodedImage& out) {
    const auto& src = out.source;
    return fmt::format(
        R"({{"original":{{"width":{},"height":{},"format":"{}","bytes":{},"frames":{}}},)"
        R"("output":{{"width":{},"height":{},"format":"{}","bytes":{}}}}})",
        src.width, src.height, transform::format_name(src.format), src.bytes, src.frames, out.width,
        out.height, transform::format_name(out.format), out.bytes.size());
}

transform::ClientHints client_hints(const http::Request& request) {
    transform::ClientHints hints;
    hints.accept = request.header("accept").value_or("");
    if (auto dpr = request.header("sec-ch-dpr")) {
        hints.dpr = dpr;
        hints.dpr_header = "Sec-CH-DPR";
    } else if (auto legacy = request.header("dpr")) {
        hints.dpr = legacy;
        hints.dpr_header = "DPR";
    }
    if (auto width = request.header("sec-ch-width")) {
        hints.width = width;
        hints.width_header = "Sec-CH-Width";
    } else if (auto legacy = request.header("width")) {
        hints.width = legacy;
        hints.width_header = "Width";
    }
    return hints;
}

std::string server_timing(const DeliveryHandler::Produced& p) {
    return fmt::format("fetch;dur={:.1f}, transform;dur={:.1f}, encode;dur={:.1f}", p.fetch_ms,
                       p.transform_ms, p.encode_ms);
}

/** The Host header's name when it may be a customer's custom domain: lowercase, without
 *  port or trailing dot; never an IP literal, localhost or one of the service's own hosts. */
std::optional<std::string> custom_domain_candidate(const http::Request& request,
                                                   const std::vector<std::string>& own_hosts) {
    auto host = request.header("host").value_or("");
    if (host.empty() || host.front() == '[') {
        return std::nullopt;
    }
    host = host.substr(0, host.find(':'));
    if (host.ends_with('.')) {
        host.remove_suffix(1);
    }
    // IP literals and single labels (localhost) are decided before any allocation: on a node
    // reached by address they are every request.
    const bool ip_literal = host.find_first_not_of("0123456789.") == std::string_view::npos;
    if (host.empty() || ip_literal || host.find('.') == std::string_view::npos) {
        return std::nullopt;
    }
    auto name = core::to_lower(host);
    if (std::find(own_hosts.begin(), own_hosts.end(), name) != own_hosts.end()) {
        return std::nullopt;
    }
    return name;
}

/** Vary of every answer to a customer with an allowlist: step 4 decided on Origin, else
 *  Referer, so a shared cache must not hand this answer to another site. */
constexpr std::string_view ALLOWLIST_VARY = "Origin, Referer";

/** The Vary header: the request headers negotiation used, and ALLOWLIST_VARY when the
 *  customer has an allowlist. */
std::string vary_header(const std::vector<std::string>& negotiated, bool allowlist) {
    std::string vary;
    for (const auto& name : negotiated) {
        vary += vary.empty() ? "" : ", ";
        vary += name;
    }
    if (allowlist) {
        vary += vary.empty() ? "" : ", ";
        vary += ALLOWLIST_VARY;
    }
    return vary;
}

bool has_allowlist(const CustomerPtr& customer) {
    return customer && !customer->settings.allowed_domains.empty();
}

bool is_signature_param(std::string_view name) { return name == "s" || name == "sig"; }

/** presets_only: a transform must name a preset and carry nothing else but v, s and exp (and
 *  imgix's ignored client identification, which @imgix/js-core adds to every URL). */
bool only_preset_params(const core::QueryParams& params) {
    return std::all_of(params.begin(), params.end(), [](const auto& param) {
        const auto& name = param.first;
        return name == "preset" || name == "v" || name == "exp" || is_signature_param(name) ||
               transform::is_ignored_parameter(name);
    });
}

/** A failure of the transform itself (the original could not be turned into the variant), which
 *  onerror=redirect answers with the original instead. */
bool is_transform_failure(core::Errc code) {
    return code == core::Errc::UnprocessableImage || code == core::Errc::SourceTooLarge ||
           code == core::Errc::TransformTimeout;
}

/** The deadline of a transform job, counted from its start on a worker: time spent queued is
 *  the queue's business (busy), not the job's. */
transform::Deadline job_deadline(const core::Clock& clock, const transform::Limits& limits) {
    return clock.steady_now() + std::chrono::milliseconds(limits.transform_timeout_ms);
}

/** How a transform of `original` may share its decode: under the original's key and version
 *  (a replaced original is another one). Without an etag versions cannot be told apart: none. */
transform::DecodeReuse decode_reuse(transform::DecodedCache* cache,
                                    const storage::ObjectInfo& original,
                                    const std::string& customer) {
    if (cache == nullptr || original.etag.empty()) {
        return {};
    }
    return {cache, original.key + '\n' + original.etag, customer};
}

/** 503 busy (Retry-After) for a miss whose original would take the node, or its customer,
 *  over the bytes of originals in memory (OriginalBudget). */
core::Error originals_over_budget() {
    return core::make_error(core::Errc::Busy,
                            "too many large originals are being transformed; retry shortly");
}

} // namespace

DeliveryHandler::DeliveryHandler(DeliveryDeps deps) : deps_(std::move(deps)) {
    // A variant read back from disk is answered with a pre-built header block too.
    deps_.cache.set_header_block_builder(&variant_header_block);
}

net::awaitable<http::Response> DeliveryHandler::handle(const http::Request& request) {
    if (request.method != "GET" && request.method != "HEAD") {
        co_return method_not_allowed();
    }
    Delivery delivery{.request = request};
    auto res = co_await deliver(delivery);
    // 12 (end). Metering happens in memory; the database sees it in the next batch.
    record_usage(delivery, res);
    co_return res;
}

// Each step either passes or ends the request with its error.
#define CDN_STEP(step)                                                                             \
    if (auto passed = (step); !passed) {                                                           \
        co_return fail(d, passed.error());                                                         \
    }

net::awaitable<http::Response> DeliveryHandler::deliver(Delivery& d) {
    CDN_STEP(parse(d));                  // 1. URL and options, no I/O
    CDN_STEP(co_await find_customer(d)); // 2. customer by Host or public key
    CDN_STEP(limit_rate(d));             // 3. requests per second
    CDN_STEP(apply_policy(d));           // 4–5. allowlist, signature, presets
    CDN_STEP(negotiate(d));              // 6. plan gates, output format → cache key
    CDN_STEP(co_await check_quota(d));   // 6. monthly bandwidth
    co_await look_up_cache(d);           // 7. memory, then disk
    if (!d.variant) {
        CDN_STEP(co_await produce_once(d)); // 8–12. fetch → transform → store, once per key
    }
    co_return respond(d);
}

#undef CDN_STEP

DeliveryHandler::Step DeliveryHandler::parse(Delivery& d) const {
    CDN_TRY(params, parse_query(d.request.query));
    CDN_TRY(image_path, take_cloudflare_options(d, params));
    // `s` is checked against the raw query in step 5, where a repeated or misplaced `s` is
    // invalid_signature (403), not a repeated option (400).
    d.signed_request =
        std::erase_if(params, [](const auto& p) { return is_signature_param(p.first); }) > 0;
    CDN_TRY(options, transform::parse_delivery_options(
                         params, static_cast<std::uint32_t>(deps_.limits.max_output_dimension)));
    d.options = std::move(options);
    d.only_preset_params = only_preset_params(params);
    // Which reading of the path holds is known once step 2 has looked the Host up; their
    // errors are reported then, in that order.
    d.custom_domain = custom_domain_candidate(d.request, deps_.own_hosts);
    d.keyed_url = parse_image_path(image_path);
    if (d.custom_domain) {
        d.domain_url = parse_custom_domain_path(image_path);
    }
    return {};
}

core::Result<std::string_view> DeliveryHandler::take_cloudflare_options(Delivery& d,
                                                                        core::QueryParams& params) {
    CDN_TRY(cloudflare, split_cloudflare_path(d.request.path));
    if (!cloudflare) {
        return std::string_view(d.request.path);
    }
    CDN_TRY(translated, transform::translate_cloudflare_options(cloudflare->options));
    // Path options first: one given again in the query is "given twice", as in the query form.
    params.insert(params.begin(), translated.params.begin(), translated.params.end());
    d.redirect_on_error = translated.redirect_on_error;
    d.original_location = std::string(cloudflare->source);
    return cloudflare->source;
}

net::awaitable<DeliveryHandler::Step> DeliveryHandler::find_customer(Delivery& d) {
    if (d.custom_domain) {
        auto by_host = co_await deps_.customers.find_by_host(*d.custom_domain);
        if (!by_host) {
            co_return by_host.error();
        }
        d.customer = std::move(*by_host);
    }
    if (!d.customer) {
        co_return co_await find_customer_by_key(d);
    }
    if (!*d.domain_url) {
        co_return d.domain_url->error();
    }
    d.url = std::move(**d.domain_url);
    d.url.public_key = d.customer->record.public_key;
    co_return admit_customer(d);
}

net::awaitable<DeliveryHandler::Step> DeliveryHandler::find_customer_by_key(Delivery& d) {
    if (!d.keyed_url) {
        co_return d.keyed_url.error();
    }
    d.url = std::move(*d.keyed_url);
    auto by_key = co_await deps_.customers.find_by_key(d.url.public_key);
    if (!by_key) {
        co_return by_key.error();
    }
    d.customer = std::move(*by_key);
    co_return admit_customer(d);
}

DeliveryHandler::Step DeliveryHandler::admit_customer(Delivery& d) const {
    if (!d.customer) {
        return core::make_error(core::Errc::UnknownCustomer, "unknown public key");
    }
    if (d.customer->record.suspended) {
        return core::make_error(core::Errc::CustomerSuspended, "this account is suspended");
    }
    d.plan = &billing::effective_plan(deps_.plans, d.customer->record, deps_.clock.unix_seconds(),
                                      deps_.grace);
    return {};
}

DeliveryHandler::Step DeliveryHandler::limit_rate(Delivery& d) {
    // Fair across clients: one client flooding a public key is refused first (plans.md).
    auto decision = deps_.rate_limiter.check(d.url.public_key, d.plan->rate_limit_rps,
                                             http::client_group(d.request.client_address));
    if (!decision) {
        // Fail open: a KV outage must not take every customer's images down.
        spdlog::warn("rate limiter unavailable: {}", decision.error().message);
        return {};
    }
    if (!decision->allowed) {
        d.retry_after = decision->retry_after;
        return core::make_error(core::Errc::RateLimited, "too many requests for this account");
    }
    return {};
}

DeliveryHandler::Step DeliveryHandler::apply_policy(Delivery& d) const {
    CDN_TRY_VOID(check_domain(d));
    CDN_TRY_VOID(check_signature(d));
    return apply_preset(d);
}

DeliveryHandler::Step DeliveryHandler::check_domain(const Delivery& d) const {
    const auto& allowed = d.customer->settings.allowed_domains;
    if (allowed.empty() || security::origin_allowed(allowed, d.request.header("origin"),
                                                    d.request.header("referer"))) {
        return {};
    }
    return core::make_error(core::Errc::DomainNotAllowed,
                            "this site may not embed this account's images");
}

DeliveryHandler::Step DeliveryHandler::check_signature(const Delivery& d) const {
    // require_signed_urls stays enforced when the plan loses signed URLs: a downgrade must not
    // open a site its owner closed. GET /api/v1/customer carries a notice meanwhile.
    const bool required = d.customer->settings.require_signed_urls;
    if (!d.signed_request && !required) {
        return {};
    }
    if (!d.plan->signed_urls && !required) {
        return core::make_error(core::Errc::FeatureNotInPlan,
                                "signed URLs are not in the " + d.plan->name + " plan");
    }
    return security::verify_signature({
        .path = d.request.path,
        .raw_query = d.request.query,
        .secret = d.customer->record.signing_secret,
        .now_unix = deps_.clock.unix_seconds(),
    });
}

DeliveryHandler::Step DeliveryHandler::apply_preset(Delivery& d) const {
    const auto& settings = d.customer->settings;
    if (settings.presets_only && d.options.wants_transform() &&
        (!d.options.preset || !d.only_preset_params)) {
        return core::make_error(core::Errc::PresetsOnly,
                                "this account serves transforms through presets only: use "
                                "?preset=name (with v, s and exp at most)");
    }
    if (!d.options.preset) {
        return {};
    }
    const auto it = d.customer->presets.find(*d.options.preset);
    if (it == d.customer->presets.end()) {
        return core::make_error(core::Errc::UnknownPreset, "no preset named " + *d.options.preset);
    }
    d.options.overlay_on(it->second);
    return {};
}

DeliveryHandler::Step DeliveryHandler::negotiate(Delivery& d) const {
    if (d.options.wants_transform()) {
        const auto& plan = *d.plan;
        const auto& settings = d.customer->settings;
        const transform::CustomerPolicy policy{
            .avif_allowed = plan.avif,
            .max_dimension = static_cast<std::uint32_t>(
                std::min(plan.max_dimension, deps_.limits.max_output_dimension)),
            .default_quality = settings.default_quality,
            .default_format = settings.default_format,
        };
        CDN_TRY(negotiated,
                transform::negotiate(d.options, client_hints(d.request), policy, d.url.path));
        d.negotiated = std::move(negotiated);
    }
    const auto canonical = d.negotiated ? d.negotiated->spec.canonical()
                                        : "original;v=" + d.options.version.value_or("");
    d.cache_key = cache::make_cache_key(d.url.public_key, d.url.path, canonical);
    return {};
}

net::awaitable<DeliveryHandler::Step> DeliveryHandler::check_quota(Delivery& d) {
    const auto& plan = *d.plan;
    const auto& customer_id = d.customer->record.id;
    auto [quota, refresh_due] = deps_.quota.look_up(customer_id, plan);
    if (quota && refresh_due) {
        refresh_quota_in_background(customer_id, plan);
    }
    if (!quota) {
        auto refresh = [this, id = customer_id, &plan] { return deps_.quota.refresh(id, plan); };
        auto refreshed = co_await http::run_blocking(deps_.blocking_pool, std::move(refresh));
        if (!refreshed) {
            // Fail open: usage cannot be read, but it is still recorded.
            spdlog::warn("bandwidth quota unavailable: {}", refreshed.error().message);
            co_return Step{};
        }
        quota = *refreshed;
    }
    d.over_quota = quota->over_quota;
    if (!quota->allowed) {
        co_return core::make_error(core::Errc::QuotaExceeded,
                                   "this account has used its monthly bandwidth");
    }
    co_return Step{};
}

void DeliveryHandler::refresh_quota_in_background(const std::string& customer_id,
                                                  const account::Plan& plan) {
    // Copies: the request may be answered long before the database is. The pool is joined
    // before the quota goes (Service::stop_workers).
    net::post(deps_.blocking_pool, [this, id = customer_id, plan] {
        if (auto refreshed = deps_.quota.refresh(id, plan); !refreshed) {
            spdlog::warn("bandwidth quota refresh failed (the last figure stays in use): {}",
                         refreshed.error().message);
        }
    });
}

net::awaitable<void> DeliveryHandler::look_up_cache(Delivery& d) {
    auto& cache = deps_.cache;
    if ((d.variant = cache.get_from_memory(d.cache_key))) {
        d.cache_status = cache::Status::Hit;
        co_return;
    }
    // A disk hit whose file is open already (sent with sendfile) needs no file I/O either.
    if ((d.variant = cache.get_open_on_disk(d.cache_key))) {
        d.cache_status = cache::Status::HitDisk;
        co_return;
    }
    // Most misses are known from the disk tier's index alone: no hop to a blocking thread, where
    // it would wait behind originals being read (a refused miss in an overload is then 503 at
    // once).
    if (cache.missing_on_disk(d.cache_key)) {
        co_return;
    }
    // The disk tier blocks on file I/O: off the I/O thread, unless there is none. An if, not a
    // conditional expression: GCC 12 ran a co_await inside one together with the other branch.
    auto from_disk = [&cache, &key = d.cache_key] { return cache.get_from_disk_to_send(key); };
    if (cache.has_disk()) {
        d.variant = co_await http::run_blocking(deps_.blocking_pool, from_disk);
    } else {
        d.variant = from_disk();
    }
    if (d.variant) {
        d.cache_status = cache::Status::HitDisk;
    }
}

net::awaitable<SharedTier::Found>
DeliveryHandler::look_up_shared(const ImageUrl& url, const std::string& key,
                                const transform::TransformSpec* spec,
                                std::uint64_t purge_generation) {
    // An original without options is served from the store as it is: nothing to share.
    if (deps_.shared_tier == nullptr || spec == nullptr) {
        co_return SharedTier::Found{};
    }
    auto found = co_await deps_.shared_tier->look_up(url, key, deps_.blocking_pool);
    if (found.variant) {
        store(found.variant, purge_generation);
    }
    co_return found;
}

net::awaitable<DeliveryHandler::Step> DeliveryHandler::produce_once(Delivery& d) {
    const auto* spec = d.negotiated ? &d.negotiated->spec : nullptr;
    // The flight's first requester owns the transform: keys are per customer, so the customer
    // is right for every requester; the client (grouped as for the rate limit: IPv6 by /64) is
    // the one whose miss started it.
    const transform::JobOwner owner{d.customer->record.id,
                                    std::to_string(http::client_group(d.request.client_address))};
    // Coroutine arguments are named, never temporaries: GCC 12 destroys a temporary passed to
    // a by-value coroutine parameter twice.
    cache::SingleFlight<ProducedResult>::Work work = [this, &d, spec, &owner] {
        return produce(d.url, d.cache_key, fresh_until(d), spec, owner);
    };
    auto produced = co_await flights_.run(d.cache_key, std::move(work));
    if (!produced) {
        co_return produced.error();
    }
    d.variant = produced->variant;
    d.cache_status = produced->cache_status;
    d.transformed = produced->transformed;
    if (produced->cache_status == cache::Status::Miss) {
        d.server_timing = server_timing(*produced);
    }
    co_return Step{};
}

http::Response DeliveryHandler::respond(const Delivery& d) const {
    static const std::vector<std::string> no_vary;
    // CORS follows the allowlist: anyone when the customer has none, else the allowed origin
    // that asked (step 4 refused the others), so the answer varies on Origin and Referer.
    const bool restricted = has_allowlist(d.customer);
    VariantAnswer answer{
        .cache_status = d.cache_status,
        .vary = vary_header(d.negotiated ? d.negotiated->vary : no_vary, restricted),
        .server_timing = d.server_timing,
        .accept_ch = d.options.accept_ch.value_or(""),
    };
    if (d.variant->status == 200) {
        answer.cache_control = cache_control(d);
        answer.allow_origin =
            restricted ? std::string(d.request.header("origin").value_or("")) : std::string("*");
    }
    auto res = variant_response(d.request, d.variant, std::move(answer));
    res.customer = d.url.public_key;
    return res;
}

std::string DeliveryHandler::cache_control(const Delivery& d) const {
    // A signed URL with exp must not outlive it in a cache (step 5 checked exp > now).
    if (!d.signed_request || !d.options.expires) {
        return d.customer->cache_control;
    }
    return account::cache_control_within(d.customer->settings,
                                         *d.options.expires - deps_.clock.unix_seconds());
}

http::Response DeliveryHandler::fail(const Delivery& d, const core::Error& error) {
    if (d.redirect_on_error && is_transform_failure(error.code)) {
        return redirect_response(d.original_location); // Cloudflare's onerror=redirect
    }
    for (std::size_t i = 0; i < POLICY_ERRORS.size(); ++i) {
        if (POLICY_ERRORS[i] == error.code) {
            refused_[i].fetch_add(1, std::memory_order_relaxed);
        }
    }
    auto res = refusal_response(
        error, {
                   .retry_after = d.retry_after,
                   .vary = has_allowlist(d.customer) ? std::string(ALLOWLIST_VARY) : std::string(),
               });
    if (d.customer) {
        res.customer = d.customer->record.public_key;
    }
    return res;
}

bool DeliveryHandler::own_preview(const Delivery& d) const {
    // Only a request carrying the cookie pays for the HMAC; image requests from anywhere else
    // have no Cookie header at all (or, SameSite=Strict, not this one).
    const auto cookies = d.request.header("cookie");
    if (!cookies || deps_.preview_key.empty()) {
        return false;
    }
    const auto pass = security::cookie_value(*cookies, security::PREVIEW_COOKIE);
    const auto& customer_id = d.customer->record.id;
    if (!pass || !security::preview_pass_valid(deps_.preview_key, *pass, customer_id,
                                               deps_.clock.unix_seconds())) {
        return false;
    }
    if (deps_.preview_counts == nullptr) {
        return true;
    }
    // A dashboard shows a few dozen images a page; a pass copied into a proxy would carry a
    // site's traffic. The hour's cap keeps the first free and meters the second.
    const kv::WindowLimiter previews(*deps_.preview_counts, deps_.clock, "preview",
                                     std::chrono::hours(1));
    const auto admitted = previews.admit(customer_id, deps_.unmetered_previews_per_hour);
    return admitted && admitted->allowed;
}

void DeliveryHandler::record_usage(const Delivery& d, const http::Response& res) {
    if (!d.customer) {
        return; // nobody to bill: unknown key, or refused before the customer was known
    }
    if (own_preview(d)) {
        previews_unmetered_.fetch_add(1, std::memory_order_relaxed);
        return; // the customer's own dashboard showing them their images (docs/previews.md)
    }
    const bool has_body = res.has_body() && !d.request.is_head() && res.status != 304;
    const auto bytes = has_body ? res.body_size() : 0;
    const auto& id = d.customer->record.id;
    deps_.usage.record({
        .customer_id = id,
        .bytes_out = bytes,
        .transform = d.transformed,
        .cache_hit = d.variant && cache::is_hit(d.cache_status),
        .error = res.status >= 400,
    });
    if (bytes > 0) {
        deps_.quota.add(id, static_cast<std::int64_t>(bytes));
    }
    if (d.over_quota) {
        // Billed from usage_hourly against the quota; this is the node's running view of it.
        overage_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    }
}

std::int64_t DeliveryHandler::fresh_until(const Delivery& d) const {
    // The default TTL is a year and immutable: such a variant never needs making again. A
    // shorter one is honoured (at least a second, so that no-cache is not a transform a
    // request), so that an original changed in the bucket behind the API's back shows.
    const auto ttl = d.customer->settings.cache_ttl_seconds;
    if (!ttl || *ttl >= account::MAX_CACHE_TTL_SECONDS) {
        return 0;
    }
    return deps_.clock.unix_seconds() + std::max<std::int64_t>(*ttl, 1);
}

net::awaitable<DeliveryHandler::ProducedResult>
DeliveryHandler::produce(const ImageUrl& url, std::string key, std::int64_t fresh_until,
                         const transform::TransformSpec* spec, const transform::JobOwner& owner) {
    // A purge that lands while this runs must not be undone by storing what it produced.
    const auto purge_generation = deps_.cache.generation();
    // A flight for this key that ended since this request's lookup stored its variant.
    if (auto landed = deps_.cache.get_from_memory(key)) {
        co_return Produced{.variant = std::move(landed), .cache_status = cache::Status::Hit};
    }
    // 7–8 (end). The cluster's shared tier: one transform per variant in the whole cluster (the
    // holder of its lease makes it; the other nodes wait for its write and read it).
    auto shared = co_await look_up_shared(url, key, spec, purge_generation);
    if (shared.variant) {
        co_return Produced{.variant = std::move(shared.variant),
                           .cache_status = cache::Status::HitShared};
    }
    const auto started = deps_.clock.steady_now();
    // 9. Fetch. A transform the queue would refuse is 503 here, on the I/O thread, before its
    // original is read; else its queue place is held while the original is read.
    transform::Reservation place;
    if (spec != nullptr) {
        if (auto admitted = reserve_transform(owner, place); !admitted) {
            co_return admitted.error();
        }
    }
    auto fetch_blocking = [this, &url] { return fetch(url); };
    auto original = co_await http::run_blocking(deps_.blocking_pool, std::move(fetch_blocking));
    if (!original) {
        co_return co_await stale_on_failure(key, original.error());
    }
    const double fetch_ms = ms_since(started);
    // Held until the variant is made: the original stays in memory until then.
    auto in_memory = deps_.original_budget.try_hold(
        owner.customer, *original ? (*original)->bytes.size() : 0);
    if (!in_memory) {
        co_return originals_over_budget();
    }
    const auto version = *original ? (*original)->info.etag : std::string();
    // 10–11. Check and transform it (or, without options, keep it as it is).
    auto produced = co_await transform(std::move(*original), std::move(key), fresh_until, spec,
                                       {owner, place});
    if (!produced) {
        co_return produced;
    }
    produced->fetch_ms = fetch_ms;
    // 12. Store in the cache tiers (the shared one after the answer).
    store(produced->variant, purge_generation);
    share(url, std::move(shared), version, produced->variant, purge_generation);
    co_return produced;
}

core::Result<void> DeliveryHandler::reserve_transform(const transform::JobOwner& owner,
                                                      transform::Reservation& place) {
    const auto admission = deps_.transform_pool.reserve(owner, place);
    if (admission != transform::Admission::Queued) {
        return transform_refused(admission == transform::Admission::CustomerQueueFull);
    }
    return {};
}

core::Result<std::optional<storage::Object>> DeliveryHandler::fetch(const ImageUrl& url) {
    auto object = deps_.store.get(url.store_key());
    if (object) {
        return std::optional<storage::Object>(std::move(*object));
    }
    if (object.error().code == core::Errc::NotFound) {
        return std::optional<storage::Object>();
    }
    if (object.error().code == core::Errc::SourceTooLarge) {
        return object.error(); // refused while reading (S3 store): 413, not an outage
    }
    return core::make_error(core::Errc::OriginUnavailable, "the image store is unavailable",
                            object.error().detail);
}

net::awaitable<DeliveryHandler::ProducedResult>
DeliveryHandler::stale_on_failure(const std::string& key, core::Error failure) {
    if (failure.code != core::Errc::OriginUnavailable) {
        co_return failure;
    }
    auto kept = [this, &key] { return deps_.cache.get_stale(key); };
    auto stale = co_await http::run_blocking(deps_.blocking_pool, std::move(kept));
    if (!stale) {
        co_return failure;
    }
    spdlog::warn("served {} stale: {}", key, failure.detail);
    co_return Produced{.variant = std::move(stale), .cache_status = cache::Status::Stale};
}

net::awaitable<DeliveryHandler::ProducedResult>
DeliveryHandler::transform(std::optional<storage::Object> original, std::string key,
                           std::int64_t fresh_until, const transform::TransformSpec* spec,
                           Submitter submitter) {
    if (!original) {
        co_return Produced{not_found_variant(std::move(key))};
    }
    if (spec != nullptr) {
        co_return co_await transform_original(std::move(*original), std::move(key), fresh_until,
                                              *spec, submitter);
    }
    co_return co_await keep_original(std::move(*original), std::move(key), fresh_until,
                                     submitter.owner);
}

net::awaitable<DeliveryHandler::ProducedResult>
DeliveryHandler::keep_original(storage::Object original, std::string key,
                               std::int64_t fresh_until, const transform::JobOwner& owner) {
    const auto format = transform::sniff_format(original.bytes);
    if (format == transform::ImageFormat::Unknown) {
        co_return core::make_error(core::Errc::UnprocessableImage,
                                   "the original is not an image in a supported format");
    }
    Produced produced;
    if (format != transform::ImageFormat::Svg) {
        produced.variant =
            make_variant(std::move(key), fresh_until, std::string(transform::mime_type(format)),
                         std::move(original.bytes).take(), original.info.last_modified);
        co_return produced;
    }
    // An SVG is always rasterised: served as SVG it could run script in a viewer's browser.
    const auto started = deps_.clock.steady_now();
    const auto& limits = deps_.limits;
    std::function<core::Result<std::string>()> rasterise = [this, &original, &limits] {
        return transform::rasterise_svg(original.bytes, limits, job_deadline(deps_.clock, limits));
    };
    auto png =
        co_await run_on_workers<std::string>(deps_.transform_pool, owner, std::move(rasterise));
    if (!png) {
        co_return png.error();
    }
    produced.encode_ms = ms_since(started);
    transforms_.fetch_add(1, std::memory_order_relaxed);
    produced.variant = make_variant(std::move(key), fresh_until, "image/png", std::move(*png),
                                    original.info.last_modified);
    co_return produced;
}

net::awaitable<DeliveryHandler::ProducedResult>
DeliveryHandler::transform_original(storage::Object original, std::string key,
                                    std::int64_t fresh_until, const transform::TransformSpec& spec,
                                    Submitter submitter) {
    const auto& limits = deps_.limits;
    const auto reuse = decode_reuse(deps_.decoded_cache, original.info, submitter.owner.customer);
    std::function<core::Result<transform::EncodedImage>()> job = [this, &original, &spec, &limits,
                                                                  &reuse] {
        return transform::transform_image(original.bytes, spec, limits,
                                          job_deadline(deps_.clock, limits), reuse);
    };
    auto encoded = co_await run_on_workers<transform::EncodedImage>(
        deps_.transform_pool, submitter.owner, std::move(job), &submitter.place);
    if (!encoded) {
        co_return encoded.error();
    }
    transform_seconds_.observe((encoded->transform_ms + encoded->encode_ms) / 1000.0);
    transforms_.fetch_add(1, std::memory_order_relaxed);
    Produced produced;
    produced.transformed = true;
    produced.transform_ms = encoded->transform_ms;
    produced.encode_ms = encoded->encode_ms;
    if (spec.describe_only) {
        produced.variant = make_variant(std::move(key), fresh_until, "application/json",
                                        describe(*encoded), original.info.last_modified);
    } else {
        produced.variant = make_variant(
            std::move(key), fresh_until, std::string(transform::mime_type(encoded->format)),
            std::move(encoded->bytes), original.info.last_modified);
    }
    co_return produced;
}

void DeliveryHandler::store(const cache::VariantPtr& variant, std::uint64_t purge_generation) {
    auto& cache = deps_.cache;
    // A 404 is kept in memory for a minute only.
    if (variant->status == 404) {
        cache.put_in_memory_unless_purged(variant, purge_generation,
                                          deps_.clock.steady_now() + NOT_FOUND_TTL);
        return;
    }
    if (!cache.put_in_memory_unless_purged(variant, purge_generation)) {
        return;
    }
    // The disk write happens after the answer, off the I/O threads.
    boost::asio::post(deps_.blocking_pool, [&cache, variant, purge_generation] {
        cache.put_on_disk_unless_purged(variant, purge_generation);
    });
}

void DeliveryHandler::share(const ImageUrl& url, SharedTier::Found shared,
                            const std::string& original_version, const cache::VariantPtr& variant,
                            std::uint64_t purge_generation) {
    if (deps_.shared_tier == nullptr) {
        return;
    }
    // The purge check runs on the tier's thread, before and after the write.
    auto purged = [&cache = deps_.cache, key = variant->key, purge_generation] {
        return cache.purged_since(key, purge_generation);
    };
    deps_.shared_tier->write_later(url, std::move(shared), original_version, variant,
                                   std::move(purged));
}

cache::VariantPtr DeliveryHandler::make_variant(std::string key, std::int64_t fresh_until,
                                                std::string content_type, std::string body,
                                                std::int64_t last_modified) const {
    auto v = std::make_shared<cache::CachedVariant>();
    v->key = std::move(key);
    v->fresh_until = fresh_until;
    v->content_type = std::move(content_type);
    v->etag = "\"" + core::hash128_hex(body) + "\"";
    v->last_modified = last_modified;
    v->stored_at = deps_.clock.unix_seconds();
    v->body = std::move(body);
    v->response_headers = variant_header_block(*v);
    return v;
}

cache::VariantPtr DeliveryHandler::not_found_variant(std::string key) const {
    auto v = std::make_shared<cache::CachedVariant>();
    v->key = std::move(key);
    v->status = 404;
    v->content_type = "application/json";
    v->stored_at = deps_.clock.unix_seconds();
    v->body = R"({"error":{"code":"not_found","message":"no image at this path"}})";
    return v;
}

double DeliveryHandler::ms_since(std::chrono::steady_clock::time_point start) const {
    return std::chrono::duration<double, std::milli>(deps_.clock.steady_now() - start).count();
}

void DeliveryHandler::write_metrics(core::MetricWriter& writer) const {
    writer.family("imagecdn_transform_seconds", "histogram", "Transform and encode time.");
    transform_seconds_.write(writer, "imagecdn_transform_seconds", "");
    writer.family("imagecdn_delivery_refused_total", "counter",
                  "Requests refused by a policy step, by error code.");
    for (std::size_t i = 0; i < POLICY_ERRORS.size(); ++i) {
        writer.sample("imagecdn_delivery_refused_total",
                      fmt::format(R"(code="{}")", core::code_name(POLICY_ERRORS[i])),
                      static_cast<double>(refused_[i].load(std::memory_order_relaxed)));
    }
    writer.single("imagecdn_transforms_total", "counter",
                  "Transforms (and SVG rasterisations) this node ran to the end.",
                  static_cast<double>(transforms_.load(std::memory_order_relaxed)));
    writer.single("imagecdn_overage_bytes_total", "counter",
                  "Bytes served beyond a plan's monthly quota, seen by this node.",
                  static_cast<double>(overage_bytes_.load(std::memory_order_relaxed)));
    writer.single("imagecdn_previews_unmetered_total", "counter",
                  "Image requests of a customer's own dashboard (valid preview pass), not metered.",
                  static_cast<double>(previews_unmetered_.load(std::memory_order_relaxed)));
}

} // namespace cdn::edge
