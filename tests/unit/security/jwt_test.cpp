#include "security/jwt.h"

#include <gtest/gtest.h>

#include <string>

#include "security/hmac.h"

namespace cdn::security {
namespace {

constexpr std::string_view SECRET = "0123456789abcdef0123456789abcdef";
constexpr std::int64_t NOW = 1'700'000'000;

JwtClaims claims(std::int64_t exp = NOW + 900) { return {"cus_123", NOW, exp}; }

/** A token with any header and payload, signed HS256 with `secret` (or unsigned). */
std::string forge(std::string_view header, std::string_view payload,
                  std::string_view secret = SECRET, bool sign = true) {
    auto input = base64url_encode(header) + "." + base64url_encode(payload);
    if (!sign) {
        return input + ".";
    }
    const auto mac = hmac_sha256(secret, input);
    return input + "." +
           base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

constexpr std::string_view HS256 = R"({"alg":"HS256","typ":"JWT"})";

void expect_refused(const core::Result<JwtClaims>& verified) {
    ASSERT_FALSE(verified);
    EXPECT_EQ(verified.error().code, core::Errc::Unauthorized);
}

TEST(JwtTest, ValidTokenRoundTrips) {
    const auto token = sign_jwt(claims(), SECRET);
    auto verified = verify_jwt(token, SECRET, NOW);
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_EQ(verified->sub, "cus_123");
    EXPECT_EQ(verified->iat, NOW);
    EXPECT_EQ(verified->exp, NOW + 900);
}

TEST(JwtTest, HeaderIsHs256) {
    const auto token = sign_jwt(claims(), SECRET);
    std::string header;
    ASSERT_TRUE(base64url_decode(token.substr(0, token.find('.')), header));
    EXPECT_EQ(header, HS256);
}

TEST(JwtTest, ForgedHs256TokenWithTheRightKeyIsAccepted) {
    // The forge() helper itself is right: the refusals below are for their stated reason.
    auto verified = verify_jwt(forge(HS256, R"({"sub":"cus_x","exp":1700000900})"), SECRET, NOW);
    ASSERT_TRUE(verified);
    EXPECT_EQ(verified->sub, "cus_x");
}

TEST(JwtTest, AlgNoneIsRefused) {
    const auto payload = R"({"sub":"cus_123","iat":1700000000,"exp":1700000900})";
    expect_refused(verify_jwt(forge(R"({"alg":"none","typ":"JWT"})", payload, SECRET, false),
                              SECRET, NOW));
    // Also with a signature present, and with a differently cased "None".
    expect_refused(verify_jwt(forge(R"({"alg":"none","typ":"JWT"})", payload), SECRET, NOW));
    expect_refused(verify_jwt(forge(R"({"alg":"None"})", payload), SECRET, NOW));
    // A header without alg at all.
    expect_refused(verify_jwt(forge(R"({"typ":"JWT"})", payload), SECRET, NOW));
}

TEST(JwtTest, OtherAlgorithmsAreRefusedEvenWhenTheMacMatches) {
    const auto payload = R"({"sub":"cus_123","exp":1700000900})";
    // Signed with HMAC-SHA256 and our key, but claiming another algorithm: the algorithm is
    // pinned, never read from the token.
    expect_refused(verify_jwt(forge(R"({"alg":"RS256","typ":"JWT"})", payload), SECRET, NOW));
    expect_refused(verify_jwt(forge(R"({"alg":"HS512","typ":"JWT"})", payload), SECRET, NOW));
    expect_refused(verify_jwt(forge(R"({"alg":"hs256","typ":"JWT"})", payload), SECRET, NOW));
    expect_refused(verify_jwt(forge(R"({"alg":["HS256"]})", payload), SECRET, NOW));
}

TEST(JwtTest, TamperedPayloadIsRefused) {
    const auto token = sign_jwt(claims(), SECRET);
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    const auto other = base64url_encode(R"({"sub":"cus_admin","iat":1700000000,"exp":1700000900})");
    expect_refused(verify_jwt(token.substr(0, first + 1) + other + token.substr(second), SECRET,
                              NOW));
    // One flipped signature character.
    auto flipped = token;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    expect_refused(verify_jwt(flipped, SECRET, NOW));
    // Signature removed.
    expect_refused(verify_jwt(token.substr(0, second + 1), SECRET, NOW));
}

TEST(JwtTest, WrongKeyIsRefused) {
    const auto token = sign_jwt(claims(), "another-secret-entirely-0123456789");
    expect_refused(verify_jwt(token, SECRET, NOW));
    // An empty verification key never verifies, even a token "signed" with the empty key.
    expect_refused(verify_jwt(sign_jwt(claims(), ""), "", NOW));
}

TEST(JwtTest, ExpiredIsRefused) {
    const auto token = sign_jwt(claims(NOW + 60), SECRET);
    EXPECT_TRUE(verify_jwt(token, SECRET, NOW + 59));
    auto at_exp = verify_jwt(token, SECRET, NOW + 60);
    expect_refused(at_exp);
    EXPECT_EQ(at_exp.error().message, "access token expired");
    expect_refused(verify_jwt(token, SECRET, NOW + 3600));
    expect_refused(verify_jwt(sign_jwt(claims(NOW - 1), SECRET), SECRET, NOW));
}

TEST(JwtTest, MissingOrMistypedClaimsAreRefused) {
    expect_refused(verify_jwt(forge(HS256, R"({"sub":"cus_123","iat":1700000000})"), SECRET, NOW));
    expect_refused(verify_jwt(forge(HS256, R"({"exp":1700000900})"), SECRET, NOW));
    expect_refused(verify_jwt(forge(HS256, R"({"sub":"","exp":1700000900})"), SECRET, NOW));
    expect_refused(verify_jwt(forge(HS256, R"({"sub":42,"exp":1700000900})"), SECRET, NOW));
    expect_refused(verify_jwt(forge(HS256, R"({"sub":"cus_1","exp":"1700000900"})"), SECRET, NOW));
    expect_refused(verify_jwt(forge(HS256, R"({"sub":"cus_1","exp":1.7e9})"), SECRET, NOW));
    expect_refused(verify_jwt(forge(HS256, R"(["sub","exp"])"), SECRET, NOW));
    expect_refused(verify_jwt(forge(HS256, "not json"), SECRET, NOW));
}

TEST(JwtTest, MalformedTokensAreRefused) {
    const auto token = sign_jwt(claims(), SECRET);
    expect_refused(verify_jwt("", SECRET, NOW));
    expect_refused(verify_jwt("abc", SECRET, NOW));
    expect_refused(verify_jwt("a.b", SECRET, NOW));
    expect_refused(verify_jwt("a.b.c.d", SECRET, NOW));
    expect_refused(verify_jwt(token + ".extra", SECRET, NOW));
    // Not base64url: '+', '/', padding, spaces.
    expect_refused(verify_jwt("eyJ+bGci.eyJzdWIi.sig", SECRET, NOW));
    expect_refused(verify_jwt("eyJhbGciOiJIUzI1NiJ9==.e30.sig", SECRET, NOW));
    auto spaced = token;
    spaced.insert(3, " ");
    expect_refused(verify_jwt(spaced, SECRET, NOW));
    // Oversized.
    expect_refused(verify_jwt(std::string(5000, 'a') + ".b.c", SECRET, NOW));
}

} // namespace
} // namespace cdn::security
