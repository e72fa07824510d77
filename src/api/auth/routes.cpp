#include "api/auth/routes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "api/auth/accounts.h"
#include "api/auth/hash_gate.h"
#include "api/auth/login_limiter.h"
#include "api/common/customer_json.h"
#include "api/common/json.h"
#include "core/random.h"
#include "core/strings.h"
#include "db/customer_repository.h"
#include "db/refresh_token_repository.h"
#include "security/jwt.h"
#include "security/keys.h"
#include "security/password.h"
#include "security/preview_pass.h"

namespace cdn::api {
namespace {

/** The cookie carrying the refresh token for the dashboard (dashboard.md "Session"). */
constexpr std::string_view REFRESH_COOKIE = "imagecdn_refresh";
/** The only path the browser sends it to: the auth routes. */
constexpr std::string_view REFRESH_COOKIE_PATH = "/api/v1/auth";
/** Shortest password at signup, in characters (UTF-8 code points), api.md. */
constexpr std::size_t MIN_PASSWORD_CHARS = 10;
/** Longest email accepted in a body before normalisation (RFC 5321 path limit + slack). */
constexpr std::size_t MAX_EMAIL_BYTES = 320;
/** Plan of every new signup (plans.md). */
constexpr std::string_view SIGNUP_PLAN = "free";
/** Refresh tokens are security::generate_secret(): 32 random bytes as 64 hex characters. */
constexpr std::size_t REFRESH_TOKEN_CHARS = 64;
/** How often (at most) a node deletes expired refresh tokens, piggy-backed on logins. */
constexpr std::int64_t REFRESH_CLEANUP_INTERVAL_SECONDS = 3600;

/** Handlers' shared state. */
struct AuthState {
    // Spelled out for clang 14, which lacks C++20's parenthesised aggregate init (make_shared).
    AuthState(ApiDeps& api_deps, LoginLimiter login_limiter)
        : deps(api_deps), limiter(std::move(login_limiter)) {}

    ApiDeps& deps;
    LoginLimiter limiter;
    HashGate gate{HashGate::default_slots()};
    /** Unix seconds of the last expired-token cleanup on this node. */
    std::atomic<std::int64_t> last_cleanup{0};
    /** Whether the refresh cookie carries `Secure` (see cookie_is_secure). */
    bool secure_cookie = true;
    /** Signs the preview pass cookie (security/preview_pass.h). */
    std::string preview_key = security::preview_pass_key(deps.config.internal_secret);
};

core::Error unauthorized(std::string message) {
    return core::make_error(core::Errc::Unauthorized, std::move(message));
}

/** 503 busy with Retry-After when every argon2id slot is taken (see HashGate). */
http::Response hashing_busy() {
    return retry_later(
        core::make_error(core::Errc::Busy, "too many sign-ins at once; retry in a second"), 1);
}

/**
 * `Secure` unless the service is explicitly reached over plain HTTP on a host that is not
 * loopback: there a browser would drop a Secure cookie altogether (dashboard.md: "Secure when
 * served over HTTPS"). Browsers accept Secure cookies from http://localhost and 127.0.0.1, so
 * the default (`http://127.0.0.1:8080`) keeps it, as does anything behind a TLS proxy whose
 * public_base_url is https://.
 */
bool cookie_is_secure(std::string_view public_base_url) {
    constexpr std::string_view HTTP = "http://";
    if (!core::to_lower(public_base_url.substr(0, HTTP.size())).starts_with(HTTP)) {
        return true;
    }
    auto host = public_base_url.substr(HTTP.size());
    host = host.substr(0, host.find('/'));
    if (host.starts_with('[')) {
        host = host.substr(0, host.find(']') + 1);
    } else {
        host = host.substr(0, host.find(':'));
    }
    const auto lowered = core::to_lower(host);
    return lowered == "localhost" || lowered.ends_with(".localhost") ||
           lowered.starts_with("127.") || lowered == "[::1]";
}

std::string refresh_cookie(const AuthState& state, std::string_view token,
                           std::int64_t max_age_seconds) {
    std::string cookie(REFRESH_COOKIE);
    cookie.append("=").append(token).append("; HttpOnly");
    if (state.secure_cookie) {
        cookie.append("; Secure");
    }
    cookie.append("; SameSite=Strict; Path=")
        .append(REFRESH_COOKIE_PATH)
        .append("; Max-Age=")
        .append(std::to_string(max_age_seconds));
    return cookie;
}

/** The preview pass (security/preview_pass.h) for the whole origin, so the dashboard's own
 *  previews are not metered; an empty one with Max-Age=0 clears it. SameSite=Strict keeps it
 *  off image requests made from any other site. */
std::string preview_cookie(const AuthState& state, std::string_view customer_id,
                           std::int64_t expires, std::int64_t max_age_seconds) {
    std::string cookie(security::PREVIEW_COOKIE);
    cookie.append("=");
    if (max_age_seconds > 0) {
        cookie.append(security::make_preview_pass(state.preview_key, customer_id, expires));
    }
    cookie.append("; HttpOnly");
    if (state.secure_cookie) {
        cookie.append("; Secure");
    }
    cookie.append("; SameSite=Strict; Path=/; Max-Age=").append(std::to_string(max_age_seconds));
    return cookie;
}

/** The refresh cookie's value from the request's Cookie headers, if any. */
std::optional<std::string> cookie_token(const http::Request& request) {
    for (const auto& header : request.headers) {
        if (!core::iequals(header.name, "cookie")) {
            continue;
        }
        for (auto part : core::split(header.value, ';')) {
            part = core::trim(part);
            const auto eq = part.find('=');
            if (eq != std::string_view::npos && core::trim(part.substr(0, eq)) == REFRESH_COOKIE) {
                auto value = core::trim(part.substr(eq + 1));
                if (!value.empty()) {
                    return std::string(value);
                }
            }
        }
    }
    return std::nullopt;
}

/** The refresh token of a refresh or logout: `{refresh_token}` in the body, else the cookie.
 *  nullopt when there is none. */
core::Result<std::optional<std::string>> presented_refresh_token(const http::Request& request) {
    CDN_TRY(body, JsonBody::read(request, {"refresh_token"}, {.allow_empty = true}));
    CDN_TRY(token, body.optional_string("refresh_token", 0, 1024));
    if (token && !token->empty()) {
        return token;
    }
    return cookie_token(request);
}

bool well_formed_refresh_token(std::string_view token) {
    return token.size() == REFRESH_TOKEN_CHARS &&
           std::all_of(token.begin(), token.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/** UTF-8 code points in `text` (continuation bytes are not counted; json::parse has already
 *  refused invalid UTF-8). */
std::size_t utf8_chars(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    }));
}

struct TokenPair {
    std::string access_token;
    std::string refresh_token;
    std::string customer_id;
};

std::string access_token_for(const AuthState& state, const std::string& customer_id,
                             std::int64_t now) {
    return security::sign_jwt({.sub = customer_id,
                               .iat = now,
                               .exp = now + state.deps.config.access_ttl.count()},
                              state.deps.config.jwt_secret);
}

/** A new refresh token row in `family_id`; returns the token (only its hash is stored). */
core::Result<std::string> insert_refresh_token(const AuthState& state, db::Database& db,
                                               const std::string& customer_id,
                                               const std::string& family_id, std::int64_t now) {
    auto token = security::generate_secret();
    db::RefreshTokenRecord record{
        .id = "rt_" + core::random_base62(20),
        .family_id = family_id,
        .customer_id = customer_id,
        .token_hash = security::hash_api_key(token), // SHA-256 hex: a 256-bit random token
        .created_at = now,
        .expires_at = now + state.deps.config.refresh_ttl.count(),
        .used_at = std::nullopt,
        .revoked_at = std::nullopt,
    };
    CDN_TRY_VOID(db::RefreshTokenRepository(db).insert(record));
    return token;
}

/** A fresh pair starting a new family (signup, login). */
core::Result<TokenPair> start_session(const AuthState& state, const std::string& customer_id,
                                      std::int64_t now) {
    const auto family_id = "rtf_" + core::random_base62(20);
    CDN_TRY(refresh, insert_refresh_token(state, state.deps.db, customer_id, family_id, now));
    return TokenPair{access_token_for(state, customer_id, now), std::move(refresh), customer_id};
}

/** `{access_token, refresh_token, expires_in}` with the refresh cookie. */
http::Response token_response(const AuthState& state, unsigned status, const TokenPair& pair,
                              json::object body = {}) {
    body["access_token"] = pair.access_token;
    body["refresh_token"] = pair.refresh_token;
    body["expires_in"] = state.deps.config.access_ttl.count();
    auto res = json_response(status, body);
    res.set_header("Set-Cookie",
                   refresh_cookie(state, pair.refresh_token, state.deps.config.refresh_ttl.count()));
    const auto ttl = state.deps.config.access_ttl.count();
    const auto expires = state.deps.clock.unix_seconds() + ttl;
    res.set_header("Set-Cookie", preview_cookie(state, pair.customer_id, expires, ttl));
    return res;
}

/** Deletes expired refresh tokens at most once per REFRESH_CLEANUP_INTERVAL_SECONDS. */
void maybe_clean_up(AuthState& state, std::int64_t now) {
    auto last = state.last_cleanup.load();
    if (now - last < REFRESH_CLEANUP_INTERVAL_SECONDS ||
        !state.last_cleanup.compare_exchange_strong(last, now)) {
        return;
    }
    if (auto deleted = db::RefreshTokenRepository(state.deps.db).delete_expired(now); !deleted) {
        spdlog::warn("expired refresh tokens not deleted: {}", deleted.error().detail);
    }
}

/** The `{email, password}` body of signup and login. */
struct Credentials {
    /** As `normalise` made it; an address it refuses is 422 naming `email`. */
    std::string email;
    std::string password;
};

core::Result<Credentials>
read_credentials(const http::Request& request,
                 std::optional<std::string> (*normalise)(std::string_view email)) {
    CDN_TRY(body, JsonBody::read(request, {"email", "password"}));
    CDN_TRY(raw_email, body.string("email", 1, MAX_EMAIL_BYTES));
    auto email = normalise(raw_email);
    if (!email) {
        return body.invalid("email", "is not a valid email address");
    }
    CDN_TRY(password, body.string("password", 1, security::MAX_PASSWORD_BYTES));
    return Credentials{.email = std::move(*email), .password = std::move(password)};
}

/** Login does not validate the address: one that cannot exist is simply an unknown email
 *  (the same answer). */
std::optional<std::string> login_email(std::string_view email) {
    return core::to_lower(core::trim(email));
}

core::Error email_taken() {
    return core::make_field_error(core::Errc::EmailTaken, "email",
                                  "an account with this email already exists");
}

/** The argon2id hash of `password`; nullopt when every hashing slot is taken (HashGate). */
core::Result<std::optional<std::string>> hash_in_slot(AuthState& state,
                                                      const std::string& password) {
    const HashGate::Slot slot(state.gate);
    if (!slot.acquired()) {
        return std::optional<std::string>{};
    }
    CDN_TRY(hashed, security::hash_password(password));
    return std::optional<std::string>(std::move(hashed));
}

/** A new free account with this password hash; its id. email_taken when the address is. */
core::Result<std::string> create_account(ApiDeps& deps, const std::string& email,
                                         std::string hash) {
    // Checked before the slow hash by the caller; the unique index still decides a race here.
    auto created = create_customer(deps.db, deps.plans, deps.clock, email,
                                   std::string(SIGNUP_PLAN), std::move(hash),
                                   /*with_api_key=*/false);
    if (!created) {
        if (created.error().code == core::Errc::Conflict) {
            CDN_TRY(now_taken, db::CustomerRepository(deps.db).find_by_email(email));
            if (now_taken) {
                return email_taken();
            }
        }
        return created.error();
    }
    return std::move(created->customer_id);
}

// ---- POST /auth/signup ---------------------------------------------------------------------

core::Result<http::Response> signup(AuthState& state, ApiRequest& request) {
    auto& deps = state.deps;
    CDN_TRY(credentials, read_credentials(request.http, normalize_email));
    CDN_TRY(admitted, state.limiter.admit_signup(request.http.client_address));
    if (!admitted.allowed) {
        return retry_later(core::make_error(core::Errc::TooManyRequests,
                                            "too many signups from this address; try again later"),
                           admitted.retry_after_seconds);
    }
    if (utf8_chars(credentials.password) < MIN_PASSWORD_CHARS) {
        return invalid_field("password", "must be at least " +
                                             std::to_string(MIN_PASSWORD_CHARS) + " characters");
    }
    // Checked before the slow hash; create_account still handles a race.
    CDN_TRY(existing, db::CustomerRepository(deps.db).find_by_email(credentials.email));
    if (existing) {
        return email_taken();
    }
    CDN_TRY(hash, hash_in_slot(state, credentials.password));
    if (!hash) {
        return hashing_busy();
    }
    CDN_TRY(customer_id, create_account(deps, credentials.email, std::move(*hash)));
    CDN_TRY(customer, load_customer(deps.db, customer_id));
    CDN_TRY(pair, start_session(state, customer.id, deps.clock.unix_seconds()));
    spdlog::info("signup: customer {} ({})", customer.id, customer.public_key);
    return token_response(state, 201, pair,
                          json::object{{"customer", customer_json(customer)},
                                       {"public_key", customer.public_key}});
}

// ---- POST /auth/login ----------------------------------------------------------------------

/** Whether `password` is the customer's; nullopt when every hashing slot is taken. */
std::optional<bool> verify_in_slot(AuthState& state,
                                   const std::optional<db::CustomerRecord>& customer,
                                   const std::string& password) {
    const HashGate::Slot slot(state.gate);
    if (!slot.acquired()) {
        return std::nullopt;
    }
    // Unknown email, or a customer made by the CLI without a password: verify against a fixed
    // hash with the same parameters, so the answer takes as long as a wrong password.
    const bool has_password = customer && customer->password_hash.has_value();
    return security::verify_password(has_password ? std::string_view(*customer->password_hash)
                                                  : security::dummy_password_hash(),
                                     password) &&
           has_password;
}

core::Result<http::Response> login(AuthState& state, ApiRequest& request) {
    CDN_TRY(credentials, read_credentials(request.http, login_email));
    const auto& email = credentials.email;
    const auto& address = request.http.client_address;
    // Refused before any argon2 work, so a flood costs the server little.
    CDN_TRY(allowed, state.limiter.check(email, address));
    if (!allowed.allowed) {
        return retry_later(core::make_error(core::Errc::TooManyRequests,
                                            "too many failed logins; try again later"),
                           allowed.retry_after_seconds);
    }
    CDN_TRY(customer, db::CustomerRepository(state.deps.db).find_by_email(email));
    const auto verified = verify_in_slot(state, customer, credentials.password);
    if (!verified) {
        return hashing_busy(); // not a failed login: nothing was verified
    }
    if (!*verified) {
        state.limiter.record_failure(email, address);
        return core::make_error(core::Errc::InvalidCredentials, "invalid email or password");
    }
    const auto now = state.deps.clock.unix_seconds();
    CDN_TRY(pair, start_session(state, customer->id, now));
    maybe_clean_up(state, now);
    return token_response(state, 200, pair);
}

// ---- POST /auth/refresh --------------------------------------------------------------------

/** A presented token that was already used or raced: someone holds a copy, so every token of
 *  its family is revoked. Unauthorized once done. */
core::Error revoke_family(db::RefreshTokenRepository& tokens, const db::RefreshTokenRecord& found,
                          std::int64_t now, const char* why) {
    spdlog::warn("refresh token reuse for customer {} (family {}, {}): family revoked",
                 found.customer_id, found.family_id, why);
    if (auto revoked = tokens.revoke_family(found.family_id, now); !revoked) {
        return revoked.error();
    }
    return unauthorized("invalid refresh token");
}

/** Marks `found` used and issues its successor in one transaction; nullopt when another
 *  request used (or revoked) it between our read and our update. */
core::Result<std::optional<std::string>> rotate(AuthState& state,
                                                const db::RefreshTokenRecord& found,
                                                std::int64_t now) {
    std::optional<std::string> next;
    CDN_TRY_VOID(state.deps.db.transaction([&](db::Database& tx) -> core::Result<void> {
        next.reset(); // the body may run again (database.h): no token from an undone attempt
        CDN_TRY(claimed, db::RefreshTokenRepository(tx).mark_used(found.id, now));
        if (!claimed) {
            return {};
        }
        CDN_TRY(token, insert_refresh_token(state, tx, found.customer_id, found.family_id, now));
        next = std::move(token);
        return {};
    }));
    return next;
}

core::Result<http::Response> refresh(AuthState& state, ApiRequest& request) {
    CDN_TRY(presented, presented_refresh_token(request.http));
    if (!presented) {
        return unauthorized("send the refresh token in the body or the cookie");
    }
    if (!well_formed_refresh_token(*presented)) {
        return unauthorized("invalid refresh token");
    }
    db::RefreshTokenRepository tokens(state.deps.db);
    CDN_TRY(found, tokens.find_by_hash(security::hash_api_key(*presented)));
    const auto now = state.deps.clock.unix_seconds();
    if (!found || found->revoked_at) {
        return unauthorized("invalid refresh token");
    }
    if (found->used_at) {
        // A rotated token presented again: someone holds a copy.
        return revoke_family(tokens, *found, now, "used token presented");
    }
    if (found->expires_at <= now) {
        return unauthorized("refresh token expired");
    }
    CDN_TRY(next, rotate(state, *found, now));
    if (!next) {
        return revoke_family(tokens, *found, now, "concurrent use");
    }
    return token_response(state, 200,
                          TokenPair{access_token_for(state, found->customer_id, now), *next,
                                    found->customer_id});
}

// ---- POST /auth/logout ---------------------------------------------------------------------

/** Always 204 with the cookie cleared: logging out twice, or with an unknown token, is not an
 *  error and tells nothing about the token. */
core::Result<http::Response> logout(AuthState& state, ApiRequest& request) {
    CDN_TRY(presented, presented_refresh_token(request.http));
    if (presented && well_formed_refresh_token(*presented)) {
        db::RefreshTokenRepository tokens(state.deps.db);
        CDN_TRY(found, tokens.find_by_hash(security::hash_api_key(*presented)));
        if (found) {
            CDN_TRY_VOID(tokens.revoke_family(found->family_id, state.deps.clock.unix_seconds()));
        }
    }
    auto res = no_content();
    res.set_header("Set-Cookie", refresh_cookie(state, "", 0));
    res.set_header("Set-Cookie", preview_cookie(state, "", 0, 0));
    return res;
}

// ---- GET /auth/me --------------------------------------------------------------------------

core::Result<http::Response> me(AuthState& state, ApiRequest& request) {
    CDN_TRY(customer, caller_customer(state.deps, request));
    return json_response(200, customer_json(customer));
}

} // namespace

void add_auth_routes(ApiRouter& router, ApiDeps& deps) {
    // Owned by the handlers (the router keeps them as long as it serves).
    auto state = std::make_shared<AuthState>(deps, LoginLimiter(deps.kv, deps.clock));
    state->secure_cookie = cookie_is_secure(deps.config.public_base_url);

    const auto bind = [&state](core::Result<http::Response> (*handler)(AuthState&, ApiRequest&)) {
        return [state, handler](ApiRequest& request) { return handler(*state, request); };
    };
    router.add({"POST", "/api/v1/auth/signup", "signup", Access::Public, bind(signup)});
    router.add({"POST", "/api/v1/auth/login", "login", Access::Public, bind(login)});
    router.add({"POST", "/api/v1/auth/refresh", "refresh", Access::Public, bind(refresh)});
    router.add({"POST", "/api/v1/auth/logout", "logout", Access::Public, bind(logout)});
    router.add({"GET", "/api/v1/auth/me", "me", Access::Customer, bind(me)});
}

} // namespace cdn::api
