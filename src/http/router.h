#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/message.h"

namespace cdn::http {

using Handler = std::function<boost::asio::awaitable<Response>(const Request&)>;

/** Maps a request path to a handler: exact paths first, then the longest matching prefix,
 *  then the fallback (the edge's `/{public_key}/{path}`). */
class Router {
public:
    void exact(std::string path, Handler handler);
    void prefix(std::string path_prefix, Handler handler);
    void fallback(Handler handler);

    /** The handler for this path; never null once a fallback is set. */
    const Handler* match(std::string_view path) const;

private:
    std::unordered_map<std::string, Handler> exact_;
    std::vector<std::pair<std::string, Handler>> prefixes_;
    Handler fallback_;
};

} // namespace cdn::http
