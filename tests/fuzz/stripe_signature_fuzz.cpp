// security::verify_stripe_signature, which the webhook route runs on the Stripe-Signature header
// and the raw body before reading the JSON. Input: the header, a newline, the body. Property:
// a header that verifies names a timestamp within the tolerance; the header Stripe would send
// for this body verifies.
#include <fmt/format.h>

#include "core/strings.h"
#include "fuzz_check.h"
#include "security/hmac.h"
#include "security/stripe_signature.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdn;
    constexpr std::string_view SECRET = "whsec_fuzz";
    constexpr std::int64_t NOW = 1'800'000'000;
    const auto [header, body] = fuzz::split_once(fuzz::text(data, size), '\n');
    auto timestamp = security::verify_stripe_signature(header, body, SECRET, NOW);
    if (timestamp) {
        FUZZ_CHECK(*timestamp >= NOW - security::STRIPE_TOLERANCE_SECONDS);
        FUZZ_CHECK(*timestamp <= NOW + security::STRIPE_TOLERANCE_SECONDS);
    }
    const auto mac = security::hmac_sha256(SECRET, fmt::format("{}.{}", NOW, body));
    const auto expected =
        core::to_hex(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
    const auto good = fmt::format("t={},v1={}", NOW, expected);
    FUZZ_CHECK(security::verify_stripe_signature(good, body, SECRET, NOW).has_value());
    return 0;
}
