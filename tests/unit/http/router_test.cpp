#include "http/router.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <string>

namespace cdn::http {
namespace {

namespace net = boost::asio;

/** A handler answering its name, so a test can tell which route matched. */
Handler answering(std::string name) {
    return [name](const Request&) -> net::awaitable<Response> {
        co_return Response::text(200, "text/plain", name);
    };
}

template <class T> T run(net::awaitable<T> awaitable) {
    net::io_context io;
    auto future = net::co_spawn(io, std::move(awaitable), net::use_future);
    io.run();
    return future.get();
}

/** Which route answers `path`: its handler's name, or "" when none matches. */
std::string routed(const Router& router, std::string_view path) {
    const auto* route = router.match(path);
    if (route == nullptr) {
        return {};
    }
    Request request;
    request.path = path;
    return *run(route->handler(request)).body;
}

TEST(Router, ExactPathsComeBeforePrefixesAndOnlyMatchWhole) {
    Router router;
    router.prefix("/api/", answering("api"));
    router.exact("/api/health", answering("health"));
    EXPECT_EQ(routed(router, "/api/health"), "health");
    EXPECT_EQ(routed(router, "/api/health/more"), "api");
    EXPECT_EQ(routed(router, "/api/healt"), "api");
}

TEST(Router, TheLongestMatchingPrefixWinsWhateverTheOrderAdded) {
    Router router;
    for (const auto* prefix : {"/api/v1/", "/api/v1/images/", "/api/"}) {
        router.prefix(prefix, answering(prefix));
    }
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"/api/v1/images/a.png", "/api/v1/images/"},
        {"/api/v1/customer", "/api/v1/"},
        {"/api/v2", "/api/"},
    };
    for (const auto& [path, prefix] : cases) {
        EXPECT_EQ(routed(router, path), prefix) << path;
    }
}

TEST(Router, UnmatchedPathsGoToTheFallbackOrNowhere) {
    Router router;
    router.exact("/healthz", answering("health"));
    EXPECT_EQ(router.match("/pk_abc/cat.png"), nullptr);
    router.fallback(answering("edge"));
    EXPECT_EQ(routed(router, "/pk_abc/cat.png"), "edge");
    EXPECT_EQ(routed(router, "/healthz"), "health");
}

TEST(Router, EachRouteKeepsItsOwnBodyLimitAndNoneMeansNoBody) {
    Router router;
    router.exact("/upload", answering("upload"), fixed_body_limit(1024));
    router.prefix("/api/", answering("api"), fixed_body_limit(64 * 1024));
    router.fallback(answering("edge"));
    Request head;
    const auto* upload = router.match("/upload");
    ASSERT_NE(upload, nullptr);
    ASSERT_TRUE(upload->body_limit);
    EXPECT_EQ(run(upload->body_limit(head)).value(), 1024u);
    const auto* api = router.match("/api/v1/presets");
    ASSERT_NE(api, nullptr);
    EXPECT_EQ(run(api->body_limit(head)).value(), 64u * 1024);
    const auto* edge = router.match("/pk_abc/cat.png");
    ASSERT_NE(edge, nullptr);
    EXPECT_FALSE(edge->body_limit);
}

TEST(Router, ARouteAddedAgainForThePathReplacesTheFirst) {
    Router router;
    router.exact("/metrics", answering("old"));
    router.exact("/metrics", answering("new"));
    EXPECT_EQ(routed(router, "/metrics"), "new");
}

} // namespace
} // namespace cdn::http
