#pragma once

#include <boost/asio/thread_pool.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/common/principal.h"
#include "core/result.h"
#include "http/message.h"
#include "http/router.h"

namespace cdn::api {

class Authenticator;

/** One API request as a handler sees it: the HTTP request, the path parameters, and who
 *  is calling (set for routes that need a customer). */
struct ApiRequest {
    const http::Request& http;
    /** `{name}` segments of the route pattern, percent-decoded, in pattern order. */
    std::vector<std::pair<std::string, std::string>> params;
    std::optional<Principal> principal;

    /** The parameter `name` of the pattern; empty when the pattern has none. */
    std::string_view param(std::string_view name) const;
    /** The caller (for Access::Customer routes, always set). */
    const Principal& caller() const { return *principal; }
};

/** Handlers are plain blocking functions: the router runs them on the blocking pool, so they
 *  may use the database, the object store and argon2 freely. They return the response, or an
 *  error that the router answers as JSON with the status of its code (ApiRouter::dispatch); they
 *  never throw across this boundary. */
using ApiHandler = std::function<core::Result<http::Response>(ApiRequest&)>;

/** Who may call a route. */
enum class Access {
    Public,
    /** A customer's JWT (`Authorization: Bearer`) or API key (`X-API-Key`). */
    Customer,
    /** The internal secret (`Authorization: Bearer <internal secret>`). */
    Internal,
};

/** The body a JSON route takes at most (a route without its own body limit). */
inline constexpr std::uint64_t JSON_BODY_LIMIT = 65'536;

/** The most body bytes a route takes, decided after authentication (`principal` is set for
 *  Access::Customer) and before the body is read; an error is answered instead. Blocking. */
using ApiBodyLimit = std::function<core::Result<std::uint64_t>(ApiRequest&)>;

/** A body limit that depends on nothing but the route (checked after its access rule). */
inline ApiBodyLimit fixed_body_limit(std::uint64_t bytes) {
    return [bytes](ApiRequest&) -> core::Result<std::uint64_t> { return bytes; };
}

struct Route {
    /** GET, POST, PUT, PATCH or DELETE. */
    std::string method;
    /** `/api/v1/keys/{id}/rotate`: `{name}` matches one segment, `{name*}` the rest (at least
     *  one character), only as the last segment. */
    std::string pattern;
    /** The operation's `operationId` in the OpenAPI document (checked by its unit test). */
    std::string operation_id;
    Access access = Access::Customer;
    ApiHandler handler;
    /** Empty: JSON_BODY_LIMIT, without authenticating before the body is read. */
    ApiBodyLimit body_limit = {};
};

/**
 * The management API's router: method and pattern matching with path parameters,
 * authentication by route, and execution on the blocking pool. An unknown path is 404
 * `not_found`; a known path with another method is 405 with `Allow`. The route table is also
 * what the OpenAPI test compares with the published document.
 */
class ApiRouter {
public:
    ApiRouter(Authenticator& authenticator, std::string internal_secret,
              boost::asio::thread_pool& blocking_pool)
        : authenticator_(authenticator), internal_secret_(std::move(internal_secret)),
          blocking_pool_(blocking_pool) {}

    void add(Route route);
    const std::vector<Route>& routes() const { return routes_; }

    /** Mounts every route's prefix (`/api/v1/`, `/internal/v1/`) on the HTTP router. */
    void mount(http::Router& router);

    /** Matches, authenticates and runs the handler; blocking (call on the blocking pool). An
     *  error, the handler's included, is answered `{"error": {...}}` with its code's status. */
    http::Response dispatch(const http::Request& request);

private:
    /** The route matching the request's path and method, its parameters, and the methods of
     *  the routes matching its path only (for 405). */
    struct Lookup {
        const Route* route = nullptr;
        std::vector<std::pair<std::string, std::string>> params;
        std::vector<std::string_view> allowed;
    };
    Lookup lookup(const http::Request& request) const;
    core::Result<void> authorize(const Route& route, ApiRequest& request);
    /** `route`'s own body limit for this head, after its access check. Blocking. */
    core::Result<std::uint64_t> body_limit(const Route& route, const http::Request& head,
                                           std::vector<std::pair<std::string, std::string>> params);
    core::Result<http::Response> run(const Route& route, ApiRequest& request);

    Authenticator& authenticator_;
    std::string internal_secret_;
    boost::asio::thread_pool& blocking_pool_;
    std::vector<Route> routes_;
};

} // namespace cdn::api
