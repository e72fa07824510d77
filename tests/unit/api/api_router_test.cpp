// ApiRouter on its own: matching (404, 405 with Allow), path parameters, access rules, the one
// place a handler's error becomes the JSON error answer, and the body-limit hook it mounts.
#include "api/common/api_router.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "api/common/authenticator.h"
#include "db/sqlite_database.h"
#include "fake_clock.h"
#include "http/router.h"
#include "security/jwt.h"
#include "temp_dir.h"

namespace cdn::api {
namespace {

namespace json = boost::json;

constexpr std::string_view JWT_SECRET = "jwt-secret-for-router-tests-0123456789";
constexpr std::string_view INTERNAL_SECRET = "internal-secret-for-router-tests";

http::Request request(std::string_view method, std::string_view path,
                      std::vector<http::Header> headers = {}) {
    http::Request out;
    out.method = method;
    out.target = path;
    out.path = path;
    out.headers = std::move(headers);
    return out;
}

std::vector<std::string> header_values(const http::Response& res, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [key, value] : res.headers) {
        if (key == name) {
            out.push_back(value);
        }
    }
    return out;
}

/** The `error` object of a JSON error answer. */
json::object error_of(const http::Response& res) {
    EXPECT_NE(res.body, nullptr);
    return json::parse(*res.body).at("error").as_object();
}

http::Response text(std::string body) {
    return http::Response::text(200, "text/plain", std::move(body));
}

/** An empty database: the authenticator reads it for API keys only, and these tests use JWTs. */
db::DatabasePtr open_database(const test::TempDir& dir) {
    return db::SqliteDatabase::open(dir.path() + "/router.db").value();
}

class ApiRouterTest : public ::testing::Test {
protected:
    ~ApiRouterTest() override { pool_.join(); }

    /** `Authorization: Bearer <JWT of customer_id>`, valid for ten minutes. */
    http::Header bearer(const std::string& customer_id) {
        const auto now = clock_.unix_seconds();
        tokens_.push_back("Bearer " + security::sign_jwt({.sub = customer_id,
                                                          .iat = now,
                                                          .exp = now + 600},
                                                         JWT_SECRET));
        return {"Authorization", tokens_.back()};
    }

    test::FakeClock clock_;
    test::TempDir dir_;
    db::DatabasePtr db_ = open_database(dir_);
    Authenticator authenticator_{*db_, std::string(JWT_SECRET), clock_};
    boost::asio::thread_pool pool_{1};
    ApiRouter router_{authenticator_, std::string(INTERNAL_SECRET), pool_};
    std::vector<std::string> tokens_;
};

TEST_F(ApiRouterTest, AnUnknownPathIs404NotFound) {
    router_.add({"GET", "/api/v1/things", "listThings", Access::Public,
                 [](ApiRequest&) { return text("things"); }});

    const auto res = router_.dispatch(request("GET", "/api/v1/nothing"));

    EXPECT_EQ(res.status, 404u);
    EXPECT_EQ(error_of(res).at("code").as_string(), "not_found");
    EXPECT_TRUE(header_values(res, "Allow").empty());
}

TEST_F(ApiRouterTest, AKnownPathWithAnotherMethodIs405WithTheAllowedMethods) {
    router_.add({"GET", "/api/v1/things/{id}", "getThing", Access::Public,
                 [](ApiRequest&) { return text("thing"); }});
    router_.add({"DELETE", "/api/v1/things/{id}", "deleteThing", Access::Public,
                 [](ApiRequest&) { return text("gone"); }});

    const auto res = router_.dispatch(request("POST", "/api/v1/things/7"));

    EXPECT_EQ(res.status, 405u);
    EXPECT_EQ(error_of(res).at("code").as_string(), "method_not_allowed");
    EXPECT_EQ(header_values(res, "Allow"), std::vector<std::string>{"GET, DELETE"});
    EXPECT_EQ(router_.dispatch(request("DELETE", "/api/v1/things/7")).status, 200u);
}

TEST_F(ApiRouterTest, PathParametersArePercentDecodedAndTheRestParameterTakesSlashes) {
    std::vector<std::string> seen;
    const auto record = [&seen](std::string name) -> ApiHandler {
        return [&seen, name](ApiRequest& req) {
            seen.emplace_back(req.param(name));
            return text("ok");
        };
    };
    router_.add({"GET", "/api/v1/keys/{id}/rotate", "rotate", Access::Public, record("id")});
    router_.add({"GET", "/api/v1/images/{path*}", "getImage", Access::Public, record("path")});

    EXPECT_EQ(router_.dispatch(request("GET", "/api/v1/keys/a%20b/rotate")).status, 200u);
    EXPECT_EQ(router_.dispatch(request("GET", "/api/v1/images/cats/tabby%2F1.jpg")).status, 200u);
    EXPECT_EQ(seen, (std::vector<std::string>{"a b", "cats/tabby/1.jpg"}));

    // An empty segment, a malformed escape, or a missing rest match no route.
    EXPECT_EQ(router_.dispatch(request("GET", "/api/v1/keys//rotate")).status, 404u);
    EXPECT_EQ(router_.dispatch(request("GET", "/api/v1/keys/%zz/rotate")).status, 404u);
    EXPECT_EQ(router_.dispatch(request("GET", "/api/v1/images/")).status, 404u);
    EXPECT_EQ(router_.dispatch(request("GET", "/api/v1/keys/a/rotate/more")).status, 404u);
    EXPECT_EQ(seen.size(), 2u);
}

TEST_F(ApiRouterTest, ACustomerRouteRunsOnlyForAnAuthenticatedCallerAndKnowsWhoItIs) {
    std::vector<std::string> callers;
    router_.add({"GET", "/api/v1/me", "me", Access::Customer, [&callers](ApiRequest& req) {
                     callers.push_back(req.caller().customer_id);
                     return text("me");
                 }});

    const auto anonymous = router_.dispatch(request("GET", "/api/v1/me"));
    EXPECT_EQ(anonymous.status, 401u);
    EXPECT_EQ(error_of(anonymous).at("code").as_string(), "unauthorized");
    const auto forged = router_.dispatch(
        request("GET", "/api/v1/me", {{"Authorization", "Bearer not.a.token"}}));
    EXPECT_EQ(forged.status, 401u);
    EXPECT_TRUE(callers.empty());

    const auto res = router_.dispatch(request("GET", "/api/v1/me", {bearer("cus_42")}));
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(callers, std::vector<std::string>{"cus_42"});
}

TEST_F(ApiRouterTest, AnInternalRouteTakesOnlyTheInternalSecret) {
    int runs = 0;
    router_.add({"GET", "/internal/v1/ping", "ping", Access::Internal, [&runs](ApiRequest&) {
                     ++runs;
                     return text("pong");
                 }});
    const std::string secret = "Bearer " + std::string(INTERNAL_SECRET);

    EXPECT_EQ(router_.dispatch(request("GET", "/internal/v1/ping")).status, 401u);
    EXPECT_EQ(router_.dispatch(request("GET", "/internal/v1/ping", {bearer("cus_1")})).status,
              401u);
    EXPECT_EQ(runs, 0);
    EXPECT_EQ(router_.dispatch(request("GET", "/internal/v1/ping", {{"Authorization", secret}}))
                  .status,
              200u);
    EXPECT_EQ(runs, 1);
}

TEST_F(ApiRouterTest, AnInternalRouteIsClosedWithoutAConfiguredSecret) {
    ApiRouter router(authenticator_, "", pool_);
    router.add({"GET", "/internal/v1/ping", "ping", Access::Internal,
                [](ApiRequest&) { return text("pong"); }});

    EXPECT_EQ(router.dispatch(request("GET", "/internal/v1/ping", {{"Authorization", "Bearer "}}))
                  .status,
              401u);
}

TEST_F(ApiRouterTest, AHandlersErrorIsAnsweredAsJsonWithItsCodesStatusAndField) {
    router_.add({"POST", "/api/v1/things", "createThing", Access::Public,
                 [](ApiRequest&) -> core::Result<http::Response> {
                     return core::make_field_error(core::Errc::InvalidRequest, "name",
                                                   "name: is required");
                 }});
    router_.add({"DELETE", "/api/v1/things", "deleteThings", Access::Public,
                 [](ApiRequest&) -> core::Result<http::Response> {
                     return core::make_error(core::Errc::Conflict, "in use", "detail for logs");
                 }});

    const auto invalid = router_.dispatch(request("POST", "/api/v1/things"));
    EXPECT_EQ(invalid.status, 422u);
    EXPECT_EQ(header_values(invalid, "Content-Type"), std::vector<std::string>{"application/json"});
    EXPECT_EQ(header_values(invalid, "Cache-Control"), std::vector<std::string>{"no-store"});
    EXPECT_EQ(error_of(invalid), (json::object{{"code", "invalid_request"},
                                               {"message", "name: is required"},
                                               {"field", "name"}}));

    const auto conflict = router_.dispatch(request("DELETE", "/api/v1/things"));
    EXPECT_EQ(conflict.status, 409u);
    // The detail is for the log only; no field when the error names none.
    EXPECT_EQ(error_of(conflict), (json::object{{"code", "conflict"}, {"message", "in use"}}));
}

TEST_F(ApiRouterTest, AThrowingHandlerIsA500AndASuccessIsNotStored) {
    router_.add({"GET", "/api/v1/boom", "boom", Access::Public,
                 [](ApiRequest&) -> core::Result<http::Response> {
                     throw std::runtime_error("a bug");
                 }});
    router_.add({"GET", "/api/v1/fine", "fine", Access::Public,
                 [](ApiRequest&) { return text("fine"); }});

    const auto boom = router_.dispatch(request("GET", "/api/v1/boom"));
    EXPECT_EQ(boom.status, 500u);
    EXPECT_EQ(error_of(boom).at("code").as_string(), "internal_error");
    EXPECT_EQ(error_of(boom).at("message").as_string(), "internal error");

    const auto fine = router_.dispatch(request("GET", "/api/v1/fine"));
    EXPECT_EQ(fine.status, 200u);
    EXPECT_EQ(*fine.body, "fine");
    EXPECT_EQ(header_values(fine, "Cache-Control"), std::vector<std::string>{"no-store"});
}

/** The body limit the HTTP router asks for before reading `head`'s body. */
core::Result<std::uint64_t> body_limit_for(const http::Router& router, const http::Request& head) {
    const auto* route = router.match(head.path);
    EXPECT_NE(route, nullptr);
    EXPECT_TRUE(route->body_limit);
    boost::asio::io_context io;
    auto limit = boost::asio::co_spawn(io, route->body_limit(head), boost::asio::use_future);
    io.run();
    return limit.get();
}

TEST_F(ApiRouterTest, TheBodyLimitHookRunsTheRoutesLimitAfterItsAccessCheck) {
    std::atomic<int> asked{0};
    router_.add({"PUT", "/api/v1/uploads/{name}", "upload", Access::Customer,
                 [](ApiRequest&) { return text("stored"); },
                 [&asked](ApiRequest& req) -> core::Result<std::uint64_t> {
                     ++asked;
                     // Decided per caller and path, as a plan's upload limit is.
                     return req.caller().customer_id == "cus_big" && req.param("name") == "x"
                                ? 1'000'000u
                                : 10u;
                 }});
    router_.add({"POST", "/internal/v1/batch", "batch", Access::Internal,
                 [](ApiRequest&) { return text("ok"); }, fixed_body_limit(4096)});
    router_.add({"POST", "/api/v1/things", "createThing", Access::Public,
                 [](ApiRequest&) { return text("ok"); }});
    http::Router http_router;
    router_.mount(http_router);

    const auto big = bearer("cus_big");
    EXPECT_EQ(body_limit_for(http_router, request("PUT", "/api/v1/uploads/x", {big})).value(),
              1'000'000u);
    EXPECT_EQ(body_limit_for(http_router, request("PUT", "/api/v1/uploads/y", {big})).value(),
              10u);
    const auto anonymous = body_limit_for(http_router, request("PUT", "/api/v1/uploads/x"));
    ASSERT_FALSE(anonymous);
    EXPECT_EQ(anonymous.error().code, core::Errc::Unauthorized);
    EXPECT_EQ(asked.load(), 2); // not asked without a caller

    const auto no_secret = body_limit_for(http_router, request("POST", "/internal/v1/batch"));
    ASSERT_FALSE(no_secret);
    EXPECT_EQ(no_secret.error().code, core::Errc::Unauthorized);
    const std::string secret = "Bearer " + std::string(INTERNAL_SECRET);
    EXPECT_EQ(body_limit_for(http_router,
                             request("POST", "/internal/v1/batch", {{"Authorization", secret}}))
                  .value(),
              4096u);

    // A route without its own limit, or no route at all: the JSON limit, nobody asked.
    EXPECT_EQ(body_limit_for(http_router, request("POST", "/api/v1/things")).value(),
              JSON_BODY_LIMIT);
    EXPECT_EQ(body_limit_for(http_router, request("POST", "/api/v1/nothing")).value(),
              JSON_BODY_LIMIT);
}

} // namespace
} // namespace cdn::api
