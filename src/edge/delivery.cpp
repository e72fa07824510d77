#include "edge/delivery.h"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <chrono>

#include "cache/cache_key.h"
#include "core/hash.h"
#include "core/strings.h"
#include "edge/transform_runner.h"
#include "http/blocking.h"
#include "transform/engine.h"
#include "transform/media_type.h"
#include "transform/options.h"
#include "transform/vips_runtime.h"

namespace cdn::edge {
namespace {

namespace net = boost::asio;
using SteadyClock = std::chrono::steady_clock;

constexpr auto NOT_FOUND_TTL = std::chrono::seconds(60);
constexpr std::string_view IMMUTABLE = "public, max-age=31536000, immutable";

double ms_since(SteadyClock::time_point start) {
    return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    for (auto candidate : core::split(if_none_match, ',')) {
        candidate = core::trim(candidate);
        if (candidate.starts_with("W/")) {
            candidate.remove_prefix(2);
        }
        if (candidate == "*" || candidate == etag) {
            return true;
        }
    }
    return false;
}

/** The headers of a 200 answer that depend only on the variant. */
std::vector<std::pair<std::string, std::string>> variant_headers(const cache::CachedVariant& v) {
    return {
        {"Content-Type", v.content_type},
        {"Cache-Control", std::string(IMMUTABLE)},
        {"ETag", v.etag},
        {"Last-Modified", core::http_date(v.last_modified)},
        {"X-Content-Type-Options", "nosniff"},
        {"Timing-Allow-Origin", "*"},
        {"Access-Control-Allow-Origin", "*"},
    };
}

std::string header_block(const cache::CachedVariant& v) {
    std::string block;
    for (const auto& [name, value] : variant_headers(v)) {
        block += name + ": " + value + "\r\n";
    }
    return block;
}

/** Headers of an error kept in the cache (a 404 for a minute). */
http::Response cached_error(const cache::VariantPtr& variant) {
    http::Response res;
    res.status = variant->status;
    res.set_header("Content-Type", variant->content_type);
    res.set_header("Cache-Control", "public, max-age=60");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.body = std::shared_ptr<const std::string>(variant, &variant->body);
    return res;
}

/** The answer for a variant: shared body and header block, 304 on a matching ETag. */
http::Response respond(const http::Request& request, const cache::VariantPtr& variant,
                       std::string_view cache_status, const std::vector<std::string>& vary) {
    http::Response res = variant->status != 200 ? cached_error(variant) : http::Response{};
    res.cache_status = cache_status;
    res.set_header("X-Cache", std::string(cache_status));
    if (!vary.empty()) {
        res.set_header("Vary", fmt::format("{}", fmt::join(vary, ", ")));
    }
    if (variant->status != 200) {
        return res;
    }
    const auto if_none_match = request.header("if-none-match");
    if (if_none_match && etag_matches(*if_none_match, variant->etag)) {
        res.status = 304;
        for (auto& header : variant_headers(*variant)) {
            if (header.first != "Content-Type") {
                res.headers.push_back(std::move(header));
            }
        }
        return res;
    }
    if (variant->response_headers.empty()) {
        for (auto& header : variant_headers(*variant)) {
            res.headers.push_back(std::move(header));
        }
    } else {
        res.prebuilt_headers =
            std::shared_ptr<const std::string>(variant, &variant->response_headers);
    }
    res.body = std::shared_ptr<const std::string>(variant, &variant->body);
    return res;
}

cache::VariantPtr make_variant(std::string key, std::string content_type, std::string body,
                               std::int64_t last_modified) {
    auto v = std::make_shared<cache::CachedVariant>();
    v->key = std::move(key);
    v->content_type = std::move(content_type);
    v->etag = "\"" + core::hash128_hex(body) + "\"";
    v->last_modified = last_modified;
    v->stored_at = unix_now();
    v->body = std::move(body);
    v->response_headers = header_block(*v);
    return v;
}

cache::VariantPtr not_found_variant(const std::string& key) {
    auto v = std::make_shared<cache::CachedVariant>();
    v->key = key;
    v->status = 404;
    v->content_type = "application/json";
    v->stored_at = unix_now();
    v->body = R"({"error":{"code":"not_found","message":"no image at this path"}})";
    return v;
}

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

} // namespace

DeliveryHandler::DeliveryHandler(DeliveryDeps deps) : deps_(deps) {}

const billing::Plan& DeliveryHandler::plan_of(const db::CustomerRecord& customer) const {
    // A plan removed from the config falls back to the most restrictive one we know: free.
    static const billing::Plan unknown_plan{.name = "free"};
    for (const auto* name : {customer.plan.c_str(), "free"}) {
        if (const auto it = deps_.plans.find(std::string_view(name)); it != deps_.plans.end()) {
            return it->second;
        }
    }
    return unknown_plan;
}

net::awaitable<http::Response> DeliveryHandler::handle(const http::Request& request) {
    if (request.method != "GET" && request.method != "HEAD") {
        auto res = http::Response::error(
            core::make_error(core::Errc::MethodNotAllowed, "only GET and HEAD are allowed here"));
        res.set_header("Allow", "GET, HEAD");
        co_return res;
    }
    // 1. Parse and validate the URL and options (no I/O).
    auto url = parse_image_url(request.path, request.query);
    if (!url) {
        co_return http::Response::error(url.error());
    }
    auto options = transform::parse_delivery_options(
        url->params, static_cast<std::uint32_t>(deps_.limits.max_output_dimension));
    if (!options) {
        co_return http::Response::error(options.error());
    }
    // 2. Resolve the customer.
    auto customer = co_await resolve_customer(url->public_key);
    if (!customer) {
        co_return http::Response::error(customer.error());
    }
    // 6. Plan gates, while negotiating the output.
    std::optional<transform::Negotiated> negotiated;
    std::string canonical = "original;v=" + options->version.value_or("");
    if (options->wants_transform()) {
        const auto& limits = plan_of(**customer);
        transform::CustomerPolicy policy{
            .avif_allowed = limits.avif,
            .max_dimension = static_cast<std::uint32_t>(
                std::min(limits.max_dimension, deps_.limits.max_output_dimension)),
        };
        auto resolved = transform::negotiate(*options, client_hints(request), policy);
        if (!resolved) {
            co_return http::Response::error(resolved.error());
        }
        negotiated = std::move(*resolved);
        canonical = negotiated->spec.canonical();
    }
    const std::vector<std::string> no_vary;
    const auto& vary = negotiated ? negotiated->vary : no_vary;
    // 7. Cache lookup with the canonical key: memory here; the disk tier, which blocks, is
    // looked at on the blocking pool with the miss.
    auto key = cache::make_cache_key(url->public_key, url->path, canonical);
    if (auto hit = deps_.cache.get_from_memory(key)) {
        auto res = respond(request, hit, "HIT", vary);
        res.customer = url->public_key;
        co_return res;
    }
    // 8–12. Single-flight: one fetch and transform per key however many requests miss at once.
    const auto* spec = negotiated ? &negotiated->spec : nullptr;
    // Coroutine arguments are named, never temporaries: GCC 12 destroys a temporary passed to
    // a by-value coroutine parameter twice.
    cache::SingleFlight<ProducedResult>::Work work = [this, &url, key, spec] {
        return produce(*url, key, spec);
    };
    auto produced = co_await flights_.run(key, std::move(work));
    if (!produced) {
        auto res = http::Response::error(produced.error());
        if (produced.error().code == core::Errc::Busy) {
            res.set_header("Retry-After", "1");
        }
        co_return res;
    }
    auto res = respond(request, produced->variant, produced->cache_status, vary);
    if (produced->cache_status == "MISS") {
        res.set_header("Server-Timing", server_timing(*produced));
    }
    res.customer = url->public_key;
    co_return res;
}

net::awaitable<core::Result<CustomerPtr>>
DeliveryHandler::resolve_customer(std::string_view public_key) {
    auto customer = deps_.customers.cached(public_key);
    if (!customer) {
        auto load = [this, pk = std::string(public_key)] { return deps_.customers.load(pk); };
        auto loaded = co_await http::run_blocking(deps_.blocking_pool, std::move(load));
        if (!loaded) {
            co_return loaded.error();
        }
        customer = *loaded;
    }
    if (*customer == nullptr) {
        co_return core::make_error(core::Errc::UnknownCustomer, "unknown public key");
    }
    if ((*customer)->suspended) {
        co_return core::make_error(core::Errc::CustomerSuspended, "this account is suspended");
    }
    co_return *customer;
}

net::awaitable<DeliveryHandler::ProducedResult>
DeliveryHandler::produce(const ImageUrl& url, std::string key, const transform::TransformSpec* spec) {
    const auto started = SteadyClock::now();
    // 9. The disk tier, then the original.
    auto fetch_blocking = [this, &url, &key] { return fetch(url, key); };
    auto fetched = co_await http::run_blocking(deps_.blocking_pool, std::move(fetch_blocking));
    if (!fetched) {
        co_return fetched.error();
    }
    if (fetched->cached) {
        co_return Produced{.variant = std::move(fetched->cached), .cache_status = "HIT"};
    }
    const double fetch_ms = ms_since(started);
    // 10–11. Check and transform it (or, without options, keep it as it is).
    ProducedResult produced = Produced{not_found_variant(key)};
    if (fetched->original && spec) {
        produced = co_await transform_original(std::move(*fetched->original), key, *spec);
    } else if (fetched->original) {
        produced = co_await keep_original(std::move(*fetched->original), key);
    }
    if (!produced) {
        co_return produced;
    }
    produced->fetch_ms = fetch_ms;
    // 12. Store in the cache tiers.
    store(produced->variant);
    co_return produced;
}

void DeliveryHandler::store(const cache::VariantPtr& variant) {
    // A 404 is kept in memory for a minute only.
    if (variant->status == 404) {
        deps_.cache.put_in_memory(variant, SteadyClock::now() + NOT_FOUND_TTL);
        return;
    }
    deps_.cache.put_in_memory(variant);
    // The disk write happens after the answer, off the I/O threads.
    boost::asio::post(deps_.blocking_pool, [&cache = deps_.cache, variant] { cache.put_on_disk(variant); });
}

core::Result<DeliveryHandler::Fetched> DeliveryHandler::fetch(const ImageUrl& url,
                                                              const std::string& key) {
    if (auto hit = deps_.cache.get(key); hit.variant) {
        return Fetched{std::move(hit.variant), std::nullopt};
    }
    auto object = deps_.store.get(url.store_key());
    if (object) {
        return Fetched{nullptr, std::move(*object)};
    }
    if (object.error().code == core::Errc::NotFound) {
        return Fetched{};
    }
    return core::make_error(core::Errc::OriginUnavailable, "the image store is unavailable",
                            object.error().detail);
}

net::awaitable<DeliveryHandler::ProducedResult>
DeliveryHandler::keep_original(storage::Object original, std::string key) {
    const auto format = transform::sniff_format(original.bytes);
    if (format == transform::ImageFormat::Unknown) {
        co_return core::make_error(core::Errc::UnprocessableImage,
                                   "the original is not an image in a supported format");
    }
    Produced produced;
    if (format != transform::ImageFormat::Svg) {
        produced.variant = make_variant(std::move(key), std::string(transform::mime_type(format)),
                                        std::move(original.bytes), original.info.last_modified);
        co_return produced;
    }
    // An SVG is always rasterised: served as SVG it could run script in a viewer's browser.
    const auto started = SteadyClock::now();
    std::function<core::Result<std::string>()> rasterise = [&original] {
        return transform::rasterise_svg(original.bytes);
    };
    auto png = co_await run_on_workers<std::string>(deps_.transform_pool, std::move(rasterise));
    if (!png) {
        co_return png.error();
    }
    produced.encode_ms = ms_since(started);
    produced.variant = make_variant(std::move(key), "image/png", std::move(*png),
                                    original.info.last_modified);
    co_return produced;
}

net::awaitable<DeliveryHandler::ProducedResult>
DeliveryHandler::transform_original(storage::Object original, std::string key,
                                    const transform::TransformSpec& spec) {
    const auto deadline =
        SteadyClock::now() + std::chrono::milliseconds(deps_.limits.transform_timeout_ms);
    const auto& limits = deps_.limits;
    std::function<core::Result<transform::EncodedImage>()> job = [&original, &spec, &limits,
                                                                  deadline] {
        return transform::transform_image(original.bytes, spec, limits, deadline);
    };
    auto encoded = co_await run_on_workers<transform::EncodedImage>(deps_.transform_pool,
                                                                    std::move(job));
    if (!encoded) {
        co_return encoded.error();
    }
    transform_seconds_.observe((encoded->transform_ms + encoded->encode_ms) / 1000.0);
    Produced produced;
    produced.transform_ms = encoded->transform_ms;
    produced.encode_ms = encoded->encode_ms;
    if (spec.describe_only) {
        produced.variant = make_variant(std::move(key), "application/json", describe(*encoded),
                                        original.info.last_modified);
    } else {
        produced.variant = make_variant(std::move(key),
                                        std::string(transform::mime_type(encoded->format)),
                                        std::move(encoded->bytes), original.info.last_modified);
    }
    co_return produced;
}

void DeliveryHandler::write_metrics(core::MetricWriter& writer) const {
    const auto stats = deps_.cache.stats();
    writer.family("imagecdn_cache_lookups_total", "counter", "Variant cache lookups by result.");
    writer.sample("imagecdn_cache_lookups_total", R"(tier="memory",result="hit")",
                  static_cast<double>(stats.memory_hits));
    writer.sample("imagecdn_cache_lookups_total", R"(tier="disk",result="hit")",
                  static_cast<double>(stats.disk_hits));
    writer.sample("imagecdn_cache_lookups_total", R"(tier="all",result="miss")",
                  static_cast<double>(stats.misses));
    writer.family("imagecdn_transform_seconds", "histogram", "Transform and encode time.");
    transform_seconds_.write(writer, "imagecdn_transform_seconds", "");
    writer.family("imagecdn_transforms_in_flight", "gauge", "Transforms running or queued.");
    writer.sample("imagecdn_transforms_in_flight", "",
                  static_cast<double>(deps_.transform_pool.running() + deps_.transform_pool.queued()));
}

} // namespace cdn::edge
