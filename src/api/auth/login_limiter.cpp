#include "api/auth/login_limiter.h"

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/strings.h"
#include "security/keys.h"

namespace cdn::api {
namespace {

constexpr std::int64_t WINDOW_SECONDS = LoginLimiter::WINDOW.count();

} // namespace

std::string LoginLimiter::address_bucket(std::string_view address) {
    boost::system::error_code ec;
    auto parsed = boost::asio::ip::make_address(std::string(address), ec);
    if (ec) {
        return std::string(address);
    }
    if (parsed.is_v6() && parsed.to_v6().is_v4_mapped()) {
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, parsed.to_v6())
            .to_string();
    }
    if (parsed.is_v4()) {
        return parsed.to_string();
    }
    const auto bytes = parsed.to_v6().to_bytes();
    return core::to_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), 8)) + "/64";
}

std::string LoginLimiter::email_key(std::string_view email, std::int64_t window) {
    // Hashed: keys stay short and the shared store holds no email addresses.
    return "loginfail:email:" + security::hash_api_key(email) + ":" + std::to_string(window);
}

std::string LoginLimiter::address_key(std::string_view address, std::int64_t window) {
    return "loginfail:addr:" + address_bucket(address) + ":" + std::to_string(window);
}

core::Result<LoginDecision> LoginLimiter::check(std::string_view email, std::string_view address) {
    const auto now = clock_.unix_seconds();
    const auto window = now / WINDOW_SECONDS;
    CDN_TRY(by_email, store_.get_counter(email_key(email, window)));
    CDN_TRY(by_address, store_.get_counter(address_key(address, window)));
    if (by_email.value_or(0) < MAX_FAILURES_PER_EMAIL &&
        by_address.value_or(0) < MAX_FAILURES_PER_ADDRESS) {
        return LoginDecision{};
    }
    return LoginDecision{.allowed = false,
                         .retry_after_seconds = std::max<std::int64_t>(
                             1, (window + 1) * WINDOW_SECONDS - now)};
}

core::Result<LoginDecision> LoginLimiter::admit_signup(std::string_view address) {
    return kv::WindowLimiter(store_, clock_, "signup", WINDOW)
        .admit(address_bucket(address), MAX_SIGNUPS_PER_ADDRESS);
}

void LoginLimiter::record_failure(std::string_view email, std::string_view address) {
    const auto now = clock_.unix_seconds();
    const auto window = now / WINDOW_SECONDS;
    // Lives until its window ends (plus a second for clock skew between nodes).
    const auto ttl = std::chrono::seconds((window + 1) * WINDOW_SECONDS - now + 1);
    for (const auto& key : {email_key(email, window), address_key(address, window)}) {
        if (auto counted = store_.increment(key, 1, ttl); !counted) {
            spdlog::warn("failed login not counted: {}", counted.error().message);
        }
    }
}

} // namespace cdn::api
