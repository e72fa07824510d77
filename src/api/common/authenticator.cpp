#include "api/common/authenticator.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "db/api_key_repository.h"
#include "security/jwt.h"
#include "security/keys.h"

namespace cdn::api {
namespace {

core::Error unauthorized(std::string message) {
    return core::make_error(core::Errc::Unauthorized, std::move(message));
}

} // namespace

Authenticator::Authenticator(db::Database& db, std::string jwt_secret, const core::Clock& clock,
                             std::chrono::seconds flush_interval)
    : db_(db), jwt_secret_(std::move(jwt_secret)), clock_(clock), flush_interval_(flush_interval),
      last_flush_(clock.steady_now()) {}

core::Result<Principal> Authenticator::authenticate(const http::Request& request) {
    if (const auto key = request.header("x-api-key")) {
        return with_api_key(*key);
    }
    const auto authorization = request.header("authorization").value_or("");
    constexpr std::string_view BEARER = "Bearer ";
    if (!authorization.starts_with(BEARER)) {
        return unauthorized("send a JWT (Authorization: Bearer) or an API key (X-API-Key)");
    }
    CDN_TRY(claims, security::verify_jwt(authorization.substr(BEARER.size()), jwt_secret_,
                                         clock_.unix_seconds()));
    return Principal{.customer_id = std::move(claims.sub), .api_key_id = {}};
}

core::Result<Principal> Authenticator::with_api_key(std::string_view secret) {
    // Not the shape of our keys: refused without a database read.
    constexpr std::size_t MAX_KEY_BYTES = 128;
    const auto prefix = security::api_key_prefix(secret);
    if (!secret.starts_with("sk_") || secret.size() > MAX_KEY_BYTES || prefix.size() == secret.size()) {
        return unauthorized("invalid API key");
    }
    CDN_TRY(record, db::ApiKeyRepository(db_).find_by_prefix(prefix));
    const auto hash = security::hash_api_key(secret);
    // Compared even when no row was found, so timing does not tell a known prefix apart.
    const bool matches =
        security::constant_time_equals(record ? record->secret_hash : std::string(hash.size(), '0'),
                                       hash);
    if (!record || !matches) {
        return unauthorized("invalid API key");
    }
    note_use(record->id);
    return Principal{.customer_id = record->customer_id, .api_key_id = record->id};
}

void Authenticator::note_use(const std::string& key_id) {
    bool due = false;
    {
        std::lock_guard lock(mutex_);
        pending_uses_[key_id] = clock_.unix_seconds();
        due = clock_.steady_now() - last_flush_ >= flush_interval_;
    }
    if (due) {
        if (auto flushed = flush(); !flushed) {
            spdlog::warn("API key last_used_at not written: {}", flushed.error().message);
        }
    }
}

core::Result<void> Authenticator::flush() {
    std::map<std::string, std::int64_t> uses;
    {
        std::lock_guard lock(mutex_);
        uses.swap(pending_uses_);
        last_flush_ = clock_.steady_now();
    }
    if (uses.empty()) {
        return {};
    }
    std::vector<db::ApiKeyRepository::Use> batch(uses.begin(), uses.end());
    auto written = db::ApiKeyRepository(db_).touch_last_used(batch);
    if (!written) {
        // Kept for the next flush; a newer use of the same key wins.
        std::lock_guard lock(mutex_);
        for (auto& [id, at] : uses) {
            pending_uses_.try_emplace(id, at);
        }
    }
    return written;
}

} // namespace cdn::api
