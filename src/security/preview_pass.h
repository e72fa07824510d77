#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdn::security {

/**
 * The dashboard's preview pass (docs/previews.md): an HttpOnly, SameSite=Strict
 * cookie the API sets with every session token, so the signed-in customer's own
 * browser, on the dashboard's origin, is not metered for the previews of their
 * images. The value is
 * `<customer id>.<expires unix seconds>.<base64url HMAC-SHA256>`, keyed with a
 * key derived from the secret every node shares ([auth] internal_secret):
 * nobody else can make one, and one pass covers only its own customer's images
 * until it expires.
 */
inline constexpr std::string_view PREVIEW_COOKIE = "cdn_preview";

/** The HMAC key for passes, derived from the shared secret so it signs nothing
 * else. */
std::string preview_pass_key(std::string_view shared_secret);

std::string make_preview_pass(std::string_view key, std::string_view customer_id,
                              std::int64_t expires);

/** True when `pass` was made with `key` for `customer_id` and has not expired
 * at `now`. */
bool preview_pass_valid(std::string_view key, std::string_view pass, std::string_view customer_id,
                        std::int64_t now);

/** The value of cookie `name` in a Cookie header's value, if it is there. */
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name);

} // namespace cdn::security
