// The webhook route's reading of a request (api/webhooks/routes.cpp, receive): the
// Stripe-Signature header verified over the raw body (security::verify_stripe_signature), then
// the body read as an event (api::parse_event, price_of). Input: the header, a newline, the
// body. Properties: a header that verifies names a timestamp within the tolerance; the header
// Stripe would send for this body verifies.
#include <fmt/format.h>

#include "api/webhooks/stripe_event.h"
#include "core/strings.h"
#include "fuzz_check.h"
#include "security/hmac.h"
#include "security/stripe_signature.h"

namespace {

constexpr std::string_view SECRET = "whsec_fuzz";
constexpr std::int64_t NOW = 1'800'000'000;

std::string stripe_header(std::string_view body) {
    const auto mac = cdn::security::hmac_sha256(SECRET, fmt::format("{}.{}", NOW, body));
    const auto hex =
        cdn::core::to_hex(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
    return fmt::format("t={},v1={}", NOW, hex);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdn;
    const auto [header, body] = fuzz::split_once(fuzz::text(data, size), '\n');
    auto timestamp = security::verify_stripe_signature(header, body, SECRET, NOW);
    if (timestamp) {
        FUZZ_CHECK(*timestamp >= NOW - security::STRIPE_TOLERANCE_SECONDS);
        FUZZ_CHECK(*timestamp <= NOW + security::STRIPE_TOLERANCE_SECONDS);
    }
    FUZZ_CHECK(security::verify_stripe_signature(stripe_header(body), body, SECRET, NOW));
    auto event = api::parse_event(body);
    if (event) {
        FUZZ_CHECK(!event->id.empty() && !event->type.empty());
        (void)api::handled(event->type);
        (void)api::price_of(event->object);
        (void)api::text_of(api::object_of(event->object, "metadata"), "plan");
    }
    return 0;
}
