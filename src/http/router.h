#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "http/message.h"

namespace cdn::http {

using Handler = std::function<boost::asio::awaitable<Response>(const Request&)>;

/**
 * The most body bytes a route takes for this request, decided from its head (method, path,
 * headers; `body` is still empty) before any byte of the body is read. An error is answered
 * instead of reading the body: a route that needs a caller before an upload authenticates
 * here. Called only when the request announces a body.
 */
using BodyLimit =
    std::function<boost::asio::awaitable<core::Result<std::uint64_t>>(const Request& head)>;

/** A BodyLimit that does not depend on the request. */
BodyLimit fixed_body_limit(std::uint64_t bytes);

/** A handler and how much body it takes; without a body limit the route takes no body (a
 *  request that announces one is 400). */
struct Route {
    Handler handler;
    BodyLimit body_limit;
};

/** Maps a request path to a route: exact paths first, then the longest matching prefix,
 *  then the fallback (the edge's `/{public_key}/{path}`). */
class Router {
public:
    void exact(std::string path, Handler handler, BodyLimit body_limit = {});
    void prefix(std::string path_prefix, Handler handler, BodyLimit body_limit = {});
    void fallback(Handler handler, BodyLimit body_limit = {});

    /** The route for this path; never null once a fallback is set. */
    const Route* match(std::string_view path) const;

private:
    std::unordered_map<std::string, Route> exact_;
    std::vector<std::pair<std::string, Route>> prefixes_;
    Route fallback_;
};

} // namespace cdn::http
