#include "security/stripe_signature.h"

#include <optional>
#include <string>
#include <vector>

#include "core/strings.h"
#include "security/hmac.h"
#include "security/keys.h"

namespace cdn::security {
namespace {

core::Error invalid(std::string message) {
    return core::make_error(core::Errc::InvalidWebhookSignature, std::move(message));
}

/** What a Stripe-Signature header carries: `t=` and every `v1=`. */
struct StripeHeader {
    std::optional<std::int64_t> timestamp;
    std::vector<std::string_view> signatures;
};

StripeHeader parse_stripe_header(std::string_view header) {
    StripeHeader out;
    for (const auto part : core::split(header, ',')) {
        const auto item = core::trim(part);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        const auto name = item.substr(0, eq);
        const auto value = item.substr(eq + 1);
        if (name == "t") {
            out.timestamp = core::parse_int(value);
        } else if (name == "v1") {
            out.signatures.push_back(value);
        }
        // Other schemes (v0, the test-mode scheme) are ignored, as Stripe's libraries do.
    }
    return out;
}

/** Hex HMAC-SHA256 of "<timestamp>.<payload>", Stripe's signed payload. */
std::string expected_signature(std::int64_t timestamp, std::string_view payload,
                               std::string_view secret) {
    std::string signed_payload = std::to_string(timestamp);
    signed_payload += '.';
    signed_payload += payload;
    const auto mac = hmac_sha256(secret, signed_payload);
    return core::to_hex(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

bool any_matches(const std::vector<std::string_view>& signatures, std::string_view expected) {
    bool matched = false;
    for (const auto candidate : signatures) {
        // Every candidate is compared, so timing does not tell which position matched.
        matched = constant_time_equals(expected, candidate) || matched;
    }
    return matched;
}

} // namespace

core::Result<std::int64_t> verify_stripe_signature(std::string_view header,
                                                   std::string_view payload,
                                                   std::string_view secret, std::int64_t now,
                                                   std::int64_t tolerance) {
    const auto parsed = parse_stripe_header(header);
    if (!parsed.timestamp || parsed.signatures.empty() || secret.empty()) {
        return invalid("Stripe-Signature needs t= and at least one v1=");
    }
    const auto timestamp = *parsed.timestamp;
    if (timestamp < now - tolerance || timestamp > now + tolerance) {
        return invalid("the webhook timestamp is outside the tolerance");
    }
    if (!any_matches(parsed.signatures, expected_signature(timestamp, payload, secret))) {
        return invalid("no v1 signature matches");
    }
    return timestamp;
}

} // namespace cdn::security
