#include "security/stripe_signature.h"

#include <gtest/gtest.h>

#include "core/strings.h"
#include "security/hmac.h"

namespace cdn::security {
namespace {

constexpr std::string_view SECRET = "whsec_test_secret";
constexpr std::string_view PAYLOAD = R"({"id":"evt_1","type":"invoice.paid"})";
constexpr std::int64_t NOW = 1'764'000'000;

std::string v1(std::int64_t t, std::string_view payload, std::string_view secret = SECRET) {
    const auto mac = hmac_sha256(secret, std::to_string(t) + "." + std::string(payload));
    return core::to_hex(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

std::string header(std::int64_t t, const std::string& signature) {
    return "t=" + std::to_string(t) + ",v1=" + signature;
}

TEST(StripeSignature, AcceptsAValidSignatureAndReturnsItsTimestamp) {
    const auto verified = verify_stripe_signature(header(NOW, v1(NOW, PAYLOAD)), PAYLOAD, SECRET, NOW);
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_EQ(*verified, NOW);
}

// A header made outside our code: `printf '%s' '1764000000.<payload>' | openssl dgst -sha256
// -hmac whsec_test_secret`.
TEST(StripeSignature, AcceptsASignatureComputedByOpenSsl) {
    const std::string h =
        "t=1764000000,v1=0dab000491eab346a2df5f588ae937db046c610306f8723705d73ef7f3c2725d";
    EXPECT_TRUE(verify_stripe_signature(h, PAYLOAD, SECRET, NOW));
}

TEST(StripeSignature, AnyOfSeveralV1ValuesMayMatch) {
    const auto h = "t=" + std::to_string(NOW) + ",v1=" + std::string(64, '0') + ",v0=abc,v1=" +
                   v1(NOW, PAYLOAD);
    EXPECT_TRUE(verify_stripe_signature(h, PAYLOAD, SECRET, NOW));
}

TEST(StripeSignature, RefusesWrongSecretTamperedBodyAndMissingParts) {
    const auto good = header(NOW, v1(NOW, PAYLOAD));
    EXPECT_EQ(verify_stripe_signature(good, PAYLOAD, "whsec_other", NOW).error().code,
              core::Errc::InvalidWebhookSignature);
    EXPECT_FALSE(verify_stripe_signature(good, std::string(PAYLOAD) + " ", SECRET, NOW));
    EXPECT_FALSE(verify_stripe_signature("v1=" + v1(NOW, PAYLOAD), PAYLOAD, SECRET, NOW));
    EXPECT_FALSE(verify_stripe_signature("t=" + std::to_string(NOW), PAYLOAD, SECRET, NOW));
    EXPECT_FALSE(verify_stripe_signature("", PAYLOAD, SECRET, NOW));
    EXPECT_FALSE(verify_stripe_signature("t=abc,v1=" + v1(NOW, PAYLOAD), PAYLOAD, SECRET, NOW));
    EXPECT_FALSE(verify_stripe_signature(good, PAYLOAD, "", NOW));
    // The timestamp is signed: changing it breaks the signature.
    EXPECT_FALSE(verify_stripe_signature(header(NOW + 1, v1(NOW, PAYLOAD)), PAYLOAD, SECRET, NOW));
}

TEST(StripeSignature, TimestampMustBeWithinToleranceEitherWay) {
    for (const std::int64_t skew : {-300, 0, 300}) {
        const auto t = NOW + skew;
        EXPECT_TRUE(verify_stripe_signature(header(t, v1(t, PAYLOAD)), PAYLOAD, SECRET, NOW)) << skew;
    }
    for (const std::int64_t skew : {-301, 301, -86'400}) {
        const auto t = NOW + skew;
        const auto refused = verify_stripe_signature(header(t, v1(t, PAYLOAD)), PAYLOAD, SECRET, NOW);
        ASSERT_FALSE(refused) << skew;
        EXPECT_EQ(refused.error().code, core::Errc::InvalidWebhookSignature);
    }
}

} // namespace
} // namespace cdn::security
