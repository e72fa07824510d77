#pragma once

#include <array>
#include <string>
#include <string_view>

namespace cdn::security {

/** HMAC-SHA256 (RFC 2104) of `message` keyed with `key`. */
std::array<unsigned char, 32> hmac_sha256(std::string_view key, std::string_view message);

/** Base64url without padding (RFC 4648 §5), as JWTs use it. */
std::string base64url_encode(std::string_view bytes);
/** Decodes into `out`; false when `text` is not canonical unpadded base64url. */
bool base64url_decode(std::string_view text, std::string& out);

} // namespace cdn::security
