// The edge's step 1 on a request target `path?query`: the same calls in the same order as
// DeliveryHandler::parse (src/edge/delivery.cpp). Property: options that parse have a canonical
// string that parses back to the same options, so it names one variant (it is the cache key's
// request half).
#include <algorithm>

#include "edge/image_url.h"
#include "fuzz_check.h"
#include "transform/cloudflare_options.h"
#include "transform/options.h"

namespace {

constexpr std::uint32_t MAX_DIMENSION = 8192;

cdn::core::Result<cdn::transform::DeliveryOptions> parse_options(std::string_view query) {
    CDN_TRY(params, cdn::edge::parse_query(query));
    return cdn::transform::parse_delivery_options(params, MAX_DIMENSION);
}

void check_canonical_round_trip(const cdn::transform::DeliveryOptions& options) {
    const auto canonical = cdn::transform::canonical_string(options);
    auto reparsed = parse_options(canonical);
    FUZZ_CHECK(reparsed.has_value());
    FUZZ_CHECK(cdn::transform::canonical_string(*reparsed) == canonical);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdn;
    const auto [path, query] = fuzz::split_once(fuzz::text(data, size), '?');
    auto params = edge::parse_query(query);
    auto cloudflare = edge::split_cloudflare_path(path);
    if (!params || !cloudflare) {
        return 0;
    }
    std::string_view image_path = path;
    if (*cloudflare) {
        auto translated = transform::translate_cloudflare_options((*cloudflare)->options);
        if (!translated) {
            return 0;
        }
        params->insert(params->begin(), translated->params.begin(), translated->params.end());
        image_path = (*cloudflare)->source;
    }
    (void)edge::parse_image_path(image_path);
    (void)edge::parse_custom_domain_path(image_path);
    std::erase_if(*params, [](const auto& p) { return p.first == "s" || p.first == "sig"; });
    auto options = transform::parse_delivery_options(*params, MAX_DIMENSION);
    if (options) {
        check_canonical_round_trip(*options);
    }
    auto preset = transform::parse_preset_options(query, MAX_DIMENSION);
    if (preset) {
        check_canonical_round_trip(*preset);
    }
    return 0;
}
