// Auth (api.md "Authentication" and "Auth") against the real binary on loopback: signup,
// login, JWT checks on /auth/me, refresh rotation and reuse detection, logout, the refresh
// cookie and failed-login rate limits.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.h"
#include "raw_http.h"
#include "security/hmac.h"
#include "security/jwt.h"
#include "server_process.h"

namespace cdn::test {
namespace {

namespace json = boost::json;
using Headers = std::map<std::string, std::string>;

constexpr std::string_view PASSWORD = "correct horse battery";

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

json::object parse_object(const std::string& body) {
    boost::system::error_code ec;
    auto value = json::parse(body, ec);
    if (ec || !value.is_object()) {
        ADD_FAILURE() << "not a JSON object: " << body;
        return {};
    }
    return value.get_object();
}

std::string str(const json::object& object, std::string_view name) {
    const auto* value = object.if_contains(name);
    return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

bool is_refresh_token(const std::string& token) {
    return token.size() == 64 && std::all_of(token.begin(), token.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

class AuthApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<ServerProcess>(dir_.path());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    RawResponse call(const std::string& method, const std::string& target,
                     const std::string& body = {}, Headers headers = {}) {
        if (!body.empty() && !headers.contains("Content-Type")) {
            headers["Content-Type"] = "application/json";
        }
        auto res = http_request(server_->port(), method, target, headers, body);
        EXPECT_TRUE(res) << method << " " << target;
        return res ? *res : RawResponse{};
    }

    RawResponse post(const std::string& target, const json::object& body, Headers headers = {}) {
        return call("POST", target, json::serialize(body), std::move(headers));
    }

    RawResponse signup(const std::string& email, std::string_view password = PASSWORD) {
        return post("/api/v1/auth/signup", {{"email", email}, {"password", password}});
    }

    RawResponse login(const std::string& email, std::string_view password = PASSWORD) {
        return post("/api/v1/auth/login", {{"email", email}, {"password", password}});
    }

    RawResponse refresh(const std::string& token) {
        return post("/api/v1/auth/refresh", {{"refresh_token", token}});
    }

    RawResponse me(const std::string& access_token) {
        return call("GET", "/api/v1/auth/me", {},
                    {{"Authorization", "Bearer " + access_token}});
    }

    /** Signs up and returns the answer's body (asserting 201). */
    json::object signed_up(const std::string& email) {
        const auto res = signup(email);
        EXPECT_EQ(res.status, 201) << res.body;
        return parse_object(res.body);
    }

    std::string jwt_secret() {
        auto secret = read_file(dir_.path() + "/jwt_secret");
        while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
            secret.pop_back();
        }
        EXPECT_FALSE(secret.empty());
        return secret;
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
};

// ---- signup --------------------------------------------------------------------------------

TEST_F(AuthApiTest, SignupAnswers201WithCustomerAndTokens) {
    const auto res = signup("New.User@Example.COM");
    ASSERT_EQ(res.status, 201) << res.body;
    EXPECT_EQ(res.header("content-type"), "application/json");
    EXPECT_EQ(res.header("cache-control"), "no-store");
    const auto body = parse_object(res.body);
    ASSERT_TRUE(body.contains("customer"));
    const auto& customer = body.at("customer").as_object();
    EXPECT_TRUE(str(customer, "id").starts_with("cus_"));
    EXPECT_EQ(str(customer, "email"), "new.user@example.com");
    EXPECT_EQ(str(customer, "plan"), "free");
    EXPECT_EQ(str(customer, "billing_status"), "active");
    EXPECT_TRUE(str(customer, "public_key").starts_with("pk_"));
    EXPECT_EQ(str(body, "public_key"), str(customer, "public_key"));
    EXPECT_TRUE(customer.at("settings").is_object());
    EXPECT_EQ(str(customer, "created_at").size(), 20u); // RFC 3339, e.g. 2026-01-01T00:00:00Z
    // customer, public_key, access_token, refresh_token, and expires_in as login answers it.
    EXPECT_EQ(body.size(), 5u) << res.body;
    ASSERT_TRUE(body.contains("expires_in"));
    EXPECT_EQ(body.at("expires_in").as_int64(), 900);
    EXPECT_FALSE(res.body.find("password") != std::string::npos) << res.body;
    EXPECT_TRUE(is_refresh_token(str(body, "refresh_token")));

    // The access token is a working HS256 JWT for this customer, expiring in 15 minutes.
    const auto claims =
        security::verify_jwt(str(body, "access_token"), jwt_secret(), unix_now());
    ASSERT_TRUE(claims) << claims.error().message;
    EXPECT_EQ(claims->sub, str(customer, "id"));
    EXPECT_NEAR(static_cast<double>(claims->exp - claims->iat), 900.0, 0.5);
    const auto who = me(str(body, "access_token"));
    ASSERT_EQ(who.status, 200) << who.body;
    EXPECT_EQ(str(parse_object(who.body), "id"), str(customer, "id"));
}

TEST_F(AuthApiTest, SignupSetsTheRefreshCookie) {
    const auto res = signup("cookie@example.com");
    ASSERT_EQ(res.status, 201) << res.body;
    const auto token = str(parse_object(res.body), "refresh_token");
    const auto cookie = res.header("set-cookie").value_or("");
    EXPECT_EQ(cookie, "imagecdn_refresh=" + token +
                          "; HttpOnly; Secure; SameSite=Strict; Path=/api/v1/auth; "
                          "Max-Age=2592000");
}

TEST_F(AuthApiTest, DuplicateEmailIs409EmailTaken) {
    ASSERT_EQ(signup("dup@example.com").status, 201);
    for (const auto* email : {"dup@example.com", "DUP@Example.com", "  dup@example.com "}) {
        const auto again = signup(email);
        EXPECT_EQ(again.status, 409) << email << " " << again.body;
        EXPECT_EQ(error_code(again), "email_taken");
    }
}

TEST_F(AuthApiTest, ShortOrMissingPasswordIs422NamingPassword) {
    for (const auto* password : {"", "123456789", "short"}) {
        const auto res = signup("short@example.com", password);
        EXPECT_EQ(res.status, 422) << res.body;
        EXPECT_EQ(error_code(res), "invalid_request");
        EXPECT_EQ(error_field(res), "password");
    }
    const auto missing = post("/api/v1/auth/signup", {{"email", "short@example.com"}});
    EXPECT_EQ(missing.status, 422);
    EXPECT_EQ(error_field(missing), "password");
    const auto too_long = signup("short@example.com", std::string(1025, 'x'));
    EXPECT_EQ(too_long.status, 422);
    EXPECT_EQ(error_field(too_long), "password");
    // Ten characters are enough, counted as characters (20 bytes of UTF-8 here).
    EXPECT_EQ(signup("umlaut@example.com", "ääääääääää").status, 201);
    EXPECT_EQ(signup("ten@example.com", "0123456789").status, 201);
}

TEST_F(AuthApiTest, BadEmailIs422NamingEmail) {
    for (const auto* email : {"", "not-an-email", "a@b", "a b@example.com", "@example.com",
                              "a@@example.com", "a@example..com", ".a@example.com",
                              "a@-example.com", "a@example.123", "a@exa_mple.com"}) {
        const auto res = signup(email);
        EXPECT_EQ(res.status, 422) << email << " " << res.body;
        EXPECT_EQ(error_code(res), "invalid_request");
        EXPECT_EQ(error_field(res), "email") << email;
    }
    const auto not_string = post("/api/v1/auth/signup", {{"email", 42}, {"password", PASSWORD}});
    EXPECT_EQ(not_string.status, 422);
    EXPECT_EQ(error_field(not_string), "email");
}

TEST_F(AuthApiTest, SignupBodyErrors) {
    const auto text = call("POST", "/api/v1/auth/signup", "email=a", {{"Content-Type", "text/plain"}});
    EXPECT_EQ(text.status, 415);
    EXPECT_EQ(error_code(text), "unsupported_media_type");
    const auto broken = call("POST", "/api/v1/auth/signup", "{\"email\":");
    EXPECT_EQ(broken.status, 400);
    EXPECT_EQ(error_code(broken), "invalid_json");
    const auto extra = post("/api/v1/auth/signup",
                            {{"email", "x@example.com"}, {"password", PASSWORD}, {"plan", "pro"}});
    EXPECT_EQ(extra.status, 422);
    EXPECT_EQ(error_field(extra), "plan");
    const auto wrong_method = call("GET", "/api/v1/auth/signup");
    EXPECT_EQ(wrong_method.status, 405);
}

// ---- login ---------------------------------------------------------------------------------

TEST_F(AuthApiTest, LoginAnswersTokensAndCookie) {
    const auto account = signed_up("login@example.com");
    const auto res = login("LOGIN@example.com");
    ASSERT_EQ(res.status, 200) << res.body;
    const auto body = parse_object(res.body);
    EXPECT_EQ(body.size(), 3u) << res.body;
    ASSERT_TRUE(body.contains("expires_in"));
    EXPECT_EQ(body.at("expires_in").as_int64(), 900);
    const auto refresh_token = str(body, "refresh_token");
    EXPECT_TRUE(is_refresh_token(refresh_token));
    EXPECT_NE(refresh_token, str(account, "refresh_token"));
    const auto cookie = res.header("set-cookie").value_or("");
    EXPECT_TRUE(cookie.starts_with("imagecdn_refresh=" + refresh_token + ";")) << cookie;
    EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("; Path=/api/v1/auth"), std::string::npos) << cookie;
    const auto who = me(str(body, "access_token"));
    ASSERT_EQ(who.status, 200) << who.body;
    EXPECT_EQ(str(parse_object(who.body), "email"), "login@example.com");
}

TEST_F(AuthApiTest, WrongPasswordAndUnknownEmailGetTheSameAnswerInSimilarTime) {
    signed_up("victim@example.com");
    const auto timed = [&](const std::string& email, const std::string& password) {
        const auto start = std::chrono::steady_clock::now();
        auto res = login(email, password);
        return std::make_pair(res, std::chrono::steady_clock::now() - start);
    };
    std::vector<double> wrong_ms;
    std::vector<double> unknown_ms;
    std::string wrong_body;
    std::string unknown_body;
    for (int i = 0; i < 5; ++i) {
        auto [wrong, wrong_time] = timed("victim@example.com", "not the password");
        auto [unknown, unknown_time] = timed("nobody@example.com", "not the password");
        EXPECT_EQ(wrong.status, 401);
        EXPECT_EQ(unknown.status, 401);
        EXPECT_EQ(error_code(wrong), "invalid_credentials");
        wrong_body = wrong.body;
        unknown_body = unknown.body;
        EXPECT_FALSE(wrong.header("set-cookie"));
        wrong_ms.push_back(std::chrono::duration<double, std::milli>(wrong_time).count());
        unknown_ms.push_back(std::chrono::duration<double, std::milli>(unknown_time).count());
    }
    EXPECT_EQ(wrong_body, unknown_body);
    std::sort(wrong_ms.begin(), wrong_ms.end());
    std::sort(unknown_ms.begin(), unknown_ms.end());
    // An unknown email still pays for one argon2id verification: without it the answer would
    // take a fraction of a millisecond instead of tens. The fastest of five is compared: a busy
    // machine (a sanitized run, a parallel suite) only ever adds time, so the minimum is each
    // path's own cost; the loose bound allows for the rest of the noise.
    EXPECT_GT(unknown_ms.front(), wrong_ms.front() * 0.3)
        << "unknown " << unknown_ms.front() << " ms, wrong password " << wrong_ms.front() << " ms";
    // Logins with neither email nor password are a 422, not a 401.
    const auto empty = post("/api/v1/auth/login", {{"email", "victim@example.com"}});
    EXPECT_EQ(empty.status, 422);
    EXPECT_EQ(error_field(empty), "password");
}

TEST_F(AuthApiTest, CustomerWithoutPasswordCannotLogIn) {
    create_customer(dir_.path(), "cli@example.com");
    const auto res = login("cli@example.com", "any password at all");
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_code(res), "invalid_credentials");
    EXPECT_EQ(res.body, login("nobody@example.com", "any password at all").body);
}

TEST_F(AuthApiTest, ConcurrentLoginsAreServedOrRefusedAsBusyNeverQueuedForever) {
    signed_up("crowd@example.com");
    // More logins at once than there are argon2id slots (HashGate): each one either succeeds
    // or is refused at once with 503 busy and Retry-After, never hangs or fails otherwise.
    constexpr int N = 12;
    std::vector<RawResponse> answers(N);
    std::vector<std::thread> threads;
    for (int i = 0; i < N; ++i) {
        threads.emplace_back([&, i] {
            auto res = http_request(server_->port(), "POST", "/api/v1/auth/login",
                                    {{"Content-Type", "application/json"}},
                                    R"({"email":"crowd@example.com","password":"correct horse battery"})");
            answers[i] = res ? *res : RawResponse{};
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    int ok = 0;
    for (const auto& res : answers) {
        if (res.status == 200) {
            ++ok;
            continue;
        }
        EXPECT_EQ(res.status, 503) << res.body;
        EXPECT_EQ(error_code(res), "busy");
        EXPECT_EQ(res.header("retry-after"), "1");
    }
    EXPECT_GE(ok, 1);
    // Busy answers are not failed logins: the account is not rate limited afterwards.
    EXPECT_EQ(login("crowd@example.com").status, 200);
}

// ---- access tokens -------------------------------------------------------------------------

TEST_F(AuthApiTest, MeRefusesMissingForgedAndExpiredTokens) {
    const auto account = signed_up("me@example.com");
    const auto id = str(account.at("customer").as_object(), "id");
    const auto secret = jwt_secret();
    const auto now = unix_now();
    const auto expect_401 = [&](const RawResponse& res, const char* what) {
        EXPECT_EQ(res.status, 401) << what << ": " << res.body;
        EXPECT_EQ(error_code(res), "unauthorized") << what;
    };
    expect_401(call("GET", "/api/v1/auth/me"), "no credentials");
    expect_401(call("GET", "/api/v1/auth/me", {}, {{"Authorization", "Basic abc"}}), "basic");
    expect_401(me("garbage"), "garbage");

    // Sanity: a token we sign with the server's secret works, so the refusals below are for
    // their stated reason.
    ASSERT_EQ(me(security::sign_jwt({id, now, now + 60}, secret)).status, 200);

    expect_401(me(security::sign_jwt({id, now - 3600, now - 1}, secret)), "expired");
    expect_401(me(security::sign_jwt({id, now, now + 60}, "some-other-secret-0123456789abcdef")),
               "another key");
    const auto payload = json::serialize(json::object{{"sub", id}, {"iat", now}, {"exp", now + 60}});
    const auto none = security::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                      security::base64url_encode(payload) + ".";
    expect_401(me(none), "alg none");
    // HS512 header with a valid HS256 MAC under the real secret: the algorithm is pinned.
    const auto input = security::base64url_encode(R"({"alg":"HS512","typ":"JWT"})") + "." +
                       security::base64url_encode(payload);
    const auto mac = security::hmac_sha256(secret, input);
    expect_401(me(input + "." + security::base64url_encode(std::string_view(
                                    reinterpret_cast<const char*>(mac.data()), mac.size()))),
               "alg HS512");
    // A validly signed token for a customer that does not exist.
    expect_401(me(security::sign_jwt({"cus_nobody", now, now + 60}, secret)), "unknown customer");
}

TEST_F(AuthApiTest, MeAcceptsAnApiKey) {
    const auto created = run_imagecdn(
        {"customer", "create", "--data-dir", dir_.path(), "--email", "key@example.com"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    const auto key = str(parse_object(created.out), "api_key");
    const auto res = call("GET", "/api/v1/auth/me", {}, {{"X-API-Key", key}});
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(str(parse_object(res.body), "email"), "key@example.com");
}

// ---- refresh and logout --------------------------------------------------------------------

TEST_F(AuthApiTest, RefreshRotatesAndTheOldTokenDies) {
    const auto account = signed_up("rotate@example.com");
    const auto first = str(account, "refresh_token");
    const auto res = refresh(first);
    ASSERT_EQ(res.status, 200) << res.body;
    const auto body = parse_object(res.body);
    const auto second = str(body, "refresh_token");
    EXPECT_TRUE(is_refresh_token(second));
    EXPECT_NE(second, first);
    EXPECT_EQ(body.at("expires_in").as_int64(), 900);
    EXPECT_TRUE(res.header("set-cookie").value_or("").starts_with("imagecdn_refresh=" + second));
    EXPECT_EQ(me(str(body, "access_token")).status, 200);

    // The next one works once more (rotation continues).
    const auto third_res = refresh(second);
    ASSERT_EQ(third_res.status, 200) << third_res.body;
    const auto third = str(parse_object(third_res.body), "refresh_token");
    EXPECT_EQ(refresh(third).status, 200);
}

TEST_F(AuthApiTest, ReusingARotatedTokenRevokesTheWholeFamily) {
    const auto account = signed_up("reuse@example.com");
    const auto first = str(account, "refresh_token");
    const auto rotated = refresh(first);
    ASSERT_EQ(rotated.status, 200);
    const auto second = str(parse_object(rotated.body), "refresh_token");

    // A stolen copy of `first` is presented: refused, and the family is dead...
    const auto reuse = refresh(first);
    EXPECT_EQ(reuse.status, 401) << reuse.body;
    EXPECT_EQ(error_code(reuse), "unauthorized");
    // ...so the legitimate holder's newer token dies too.
    EXPECT_EQ(refresh(second).status, 401);
    // Other sessions (another login) are untouched.
    const auto other = login("reuse@example.com");
    ASSERT_EQ(other.status, 200);
    EXPECT_EQ(refresh(str(parse_object(other.body), "refresh_token")).status, 200);
}

TEST_F(AuthApiTest, RefreshRefusesUnknownMalformedAndMissingTokens) {
    EXPECT_EQ(refresh(std::string(64, 'a')).status, 401);
    EXPECT_EQ(refresh("not-a-token").status, 401);
    const auto none = call("POST", "/api/v1/auth/refresh");
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(error_code(none), "unauthorized");
    const auto wrong_type = post("/api/v1/auth/refresh", {{"refresh_token", 5}});
    EXPECT_EQ(wrong_type.status, 422);
    EXPECT_EQ(error_field(wrong_type), "refresh_token");
}

TEST_F(AuthApiTest, RefreshAndLogoutAcceptTheCookie) {
    const auto account = signed_up("cookie-refresh@example.com");
    const auto first = str(account, "refresh_token");
    const auto res = call("POST", "/api/v1/auth/refresh", {},
                          {{"Cookie", "theme=dark; imagecdn_refresh=" + first + "; x=y"}});
    ASSERT_EQ(res.status, 200) << res.body;
    const auto second = str(parse_object(res.body), "refresh_token");
    EXPECT_NE(second, first);

    const auto out = call("POST", "/api/v1/auth/logout", {},
                          {{"Cookie", "imagecdn_refresh=" + second}});
    EXPECT_EQ(out.status, 204);
    EXPECT_EQ(refresh(second).status, 401);
}

TEST_F(AuthApiTest, LogoutRevokesTheRefreshTokenAndClearsTheCookie) {
    const auto account = signed_up("logout@example.com");
    const auto token = str(account, "refresh_token");
    const auto res = post("/api/v1/auth/logout", {{"refresh_token", token}});
    EXPECT_EQ(res.status, 204);
    EXPECT_TRUE(res.body.empty());
    const auto cookie = res.header("set-cookie").value_or("");
    EXPECT_TRUE(cookie.starts_with("imagecdn_refresh=;")) << cookie;
    EXPECT_NE(cookie.find("Max-Age=0"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("Path=/api/v1/auth"), std::string::npos) << cookie;
    EXPECT_EQ(refresh(token).status, 401);
    // Logging out again, or with nothing, is not an error.
    EXPECT_EQ(post("/api/v1/auth/logout", {{"refresh_token", token}}).status, 204);
    EXPECT_EQ(call("POST", "/api/v1/auth/logout").status, 204);
}

// ---- rate limits ---------------------------------------------------------------------------

TEST_F(AuthApiTest, SignupsPerAddressAreLimited) {
    // Attempts count whether they succeed or not (each may cost an argon2 hash and a row).
    for (int i = 0; i < 20; ++i) {
        const auto res = signup("many" + std::to_string(i) + "@example.com", i % 2 ? "short" : PASSWORD);
        ASSERT_EQ(res.status, i % 2 ? 422 : 201) << i << " " << res.body;
    }
    const auto limited = signup("one-more@example.com");
    EXPECT_EQ(limited.status, 429) << limited.body;
    EXPECT_EQ(error_code(limited), "too_many_requests");
    EXPECT_GE(std::stoi(limited.header("retry-after").value_or("0")), 1);
    // Logins from that address are not affected.
    EXPECT_EQ(login("many0@example.com").status, 200);
}

TEST_F(AuthApiTest, FailedLoginFloodIsRefusedWith429PerEmail) {
    signed_up("flood@example.com");
    for (int i = 0; i < 10; ++i) {
        const auto res = login("flood@example.com", "wrong password " + std::to_string(i));
        ASSERT_EQ(res.status, 401) << i << " " << res.body;
    }
    const auto limited = login("flood@example.com", "wrong password again");
    EXPECT_EQ(limited.status, 429) << limited.body;
    EXPECT_EQ(error_code(limited), "too_many_requests");
    const auto retry_after = std::stoi(limited.header("retry-after").value_or("0"));
    EXPECT_GE(retry_after, 1);
    EXPECT_LE(retry_after, 900);
    // Even the right password waits out the window (the limit is checked first).
    EXPECT_EQ(login("Flood@Example.com").status, 429);
    // Another account from the same address is not blocked by this email's limit.
    signed_up("bystander@example.com");
    EXPECT_EQ(login("bystander@example.com").status, 200);
}

TEST_F(AuthApiTest, FailedLoginFloodIsRefusedWith429PerAddress) {
    signed_up("spray@example.com");
    // 30 failures spread over emails that each stay under their own limit.
    for (int i = 0; i < 30; ++i) {
        const auto res = login("user" + std::to_string(i % 5) + "@example.com", "guess " +
                                                                                  std::to_string(i));
        ASSERT_EQ(res.status, 401) << i << " " << res.body;
    }
    const auto limited = login("spray@example.com");
    EXPECT_EQ(limited.status, 429) << limited.body;
    EXPECT_EQ(error_code(limited), "too_many_requests");
    EXPECT_TRUE(limited.header("retry-after"));
}

} // namespace
} // namespace cdn::test
