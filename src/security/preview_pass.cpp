#include "security/preview_pass.h"

#include <charconv>

#include "core/strings.h"
#include "security/hmac.h"
#include "security/keys.h"

namespace cdn::security {
namespace {

std::string mac(std::string_view key, std::string_view customer_id, std::string_view expires) {
    std::string message = "preview|";
    message.append(customer_id).append("|").append(expires);
    const auto digest = hmac_sha256(key, message);
    return base64url_encode(
        std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

} // namespace

std::string preview_pass_key(std::string_view shared_secret) {
    const auto digest = hmac_sha256(shared_secret, "imagecdn preview pass v1");
    return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

std::string make_preview_pass(std::string_view key, std::string_view customer_id,
                              std::int64_t expires) {
    const auto when = std::to_string(expires);
    std::string pass(customer_id);
    pass.append(".").append(when).append(".").append(mac(key, customer_id, when));
    return pass;
}

bool preview_pass_valid(std::string_view key, std::string_view pass, std::string_view customer_id,
                        std::int64_t now) {
    // Split from the right: the MAC and the time never hold a '.'.
    const auto mac_dot = pass.rfind('.');
    if (mac_dot == std::string_view::npos || mac_dot == 0) {
        return false;
    }
    const auto time_dot = pass.rfind('.', mac_dot - 1);
    if (time_dot == std::string_view::npos || pass.substr(0, time_dot) != customer_id) {
        return false;
    }
    const auto expires_text = pass.substr(time_dot + 1, mac_dot - time_dot - 1);
    std::int64_t expires = 0;
    const auto [end, ec] =
        std::from_chars(expires_text.data(), expires_text.data() + expires_text.size(), expires);
    if (ec != std::errc{} || end != expires_text.data() + expires_text.size() || expires <= now) {
        return false;
    }
    return constant_time_equals(pass.substr(mac_dot + 1), mac(key, customer_id, expires_text));
}

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
    for (auto part : core::split(header, ';')) {
        part = core::trim(part);
        const auto eq = part.find('=');
        if (eq != std::string_view::npos && core::trim(part.substr(0, eq)) == name) {
            return core::trim(part.substr(eq + 1));
        }
    }
    return std::nullopt;
}

} // namespace cdn::security
