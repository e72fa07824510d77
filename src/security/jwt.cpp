#include "security/jwt.h"

#include <boost/json.hpp>

#include "security/hmac.h"
#include "security/keys.h"

namespace cdn::security {
namespace {

namespace json = boost::json;

constexpr std::string_view HEADER = R"({"alg":"HS256","typ":"JWT"})";
// Tokens are short; anything longer is not ours and is refused before parsing.
constexpr std::size_t MAX_TOKEN_BYTES = 4096;

core::Error unauthorized(std::string message = "invalid access token") {
    return core::make_error(core::Errc::Unauthorized, std::move(message));
}

std::string signature_of(std::string_view signing_input, std::string_view secret) {
    const auto mac = hmac_sha256(secret, signing_input);
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

core::Result<json::object> decode_part(std::string_view part) {
    std::string text;
    if (!base64url_decode(part, text)) {
        return unauthorized();
    }
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    if (ec || !value.is_object()) {
        return unauthorized();
    }
    return std::move(value.get_object());
}

std::optional<std::int64_t> integer_claim(const json::object& claims, std::string_view name) {
    const auto* value = claims.if_contains(name);
    if (value == nullptr || !value->is_int64()) {
        return std::nullopt;
    }
    return value->get_int64();
}

} // namespace

std::string sign_jwt(const JwtClaims& claims, std::string_view secret) {
    const json::object body{{"sub", claims.sub}, {"iat", claims.iat}, {"exp", claims.exp}};
    auto input = base64url_encode(HEADER) + "." + base64url_encode(json::serialize(body));
    auto signature = signature_of(input, secret);
    return input + "." + signature;
}

core::Result<JwtClaims> verify_jwt(std::string_view token, std::string_view secret,
                                   std::int64_t now) {
    const auto first = token.find('.');
    const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (token.size() > MAX_TOKEN_BYTES || second == std::string_view::npos ||
        token.find('.', second + 1) != std::string_view::npos || secret.empty()) {
        return unauthorized();
    }
    // The algorithm is ours to choose, never the token's: only HS256 is looked at further.
    CDN_TRY(header, decode_part(token.substr(0, first)));
    const auto* alg = header.if_contains("alg");
    if (alg == nullptr || !alg->is_string() || alg->get_string() != "HS256") {
        return unauthorized();
    }
    const auto signing_input = token.substr(0, second);
    if (!constant_time_equals(signature_of(signing_input, secret), token.substr(second + 1))) {
        return unauthorized();
    }
    CDN_TRY(claims, decode_part(token.substr(first + 1, second - first - 1)));
    const auto* sub = claims.if_contains("sub");
    const auto exp = integer_claim(claims, "exp");
    if (sub == nullptr || !sub->is_string() || sub->get_string().empty() || !exp) {
        return unauthorized();
    }
    if (*exp <= now) {
        return unauthorized("access token expired");
    }
    return JwtClaims{std::string(sub->get_string()), integer_claim(claims, "iat").value_or(0), *exp};
}

} // namespace cdn::security
