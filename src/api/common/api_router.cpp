#include "api/common/api_router.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "api/common/authenticator.h"
#include "core/strings.h"
#include "db/database.h"
#include "http/blocking.h"
#include "security/keys.h"

namespace cdn::api {
namespace {

namespace net = boost::asio;

std::vector<std::string_view> segments(std::string_view path) {
    auto parts = core::split(path, '/');
    if (!parts.empty() && parts.front().empty()) {
        parts.erase(parts.begin());
    }
    return parts;
}

/** Binds the pattern's parameters from `path`; false when it does not match. */
bool match(std::string_view pattern, std::string_view path,
           std::vector<std::pair<std::string, std::string>>& params) {
    const auto want = segments(pattern);
    const auto have = segments(path);
    params.clear();
    for (std::size_t i = 0; i < want.size(); ++i) {
        const auto w = want[i];
        const bool is_param = w.size() > 2 && w.front() == '{' && w.back() == '}';
        if (is_param && w.ends_with("*}")) {
            // The rest of the path (segments are views into it), decoded once.
            if (i >= have.size()) {
                return false;
            }
            const auto offset = static_cast<std::size_t>(have[i].data() - path.data());
            auto rest = core::percent_decode(path.substr(offset), false);
            if (!rest || rest->empty()) {
                return false;
            }
            params.emplace_back(std::string(w.substr(1, w.size() - 3)), std::move(*rest));
            return true;
        }
        if (i >= have.size()) {
            return false;
        }
        if (!is_param) {
            if (w != have[i]) {
                return false;
            }
            continue;
        }
        auto value = core::percent_decode(have[i], false);
        if (!value || value->empty()) {
            return false;
        }
        params.emplace_back(std::string(w.substr(1, w.size() - 2)), std::move(*value));
    }
    return want.size() == have.size();
}

std::string_view mount_prefix(std::string_view pattern) {
    // "/api/v1/..." → "/api/v1/"; "/internal/v1/..." → "/internal/v1/".
    const auto second = pattern.find('/', 1);
    const auto third = second == std::string_view::npos ? second : pattern.find('/', second + 1);
    return pattern.substr(0, third == std::string_view::npos ? pattern.size() : third + 1);
}

} // namespace

std::string_view ApiRequest::param(std::string_view name) const {
    for (const auto& [key, value] : params) {
        if (key == name) {
            return value;
        }
    }
    return {};
}

void ApiRouter::add(Route route) { routes_.push_back(std::move(route)); }

void ApiRouter::mount(http::Router& router) {
    std::set<std::string, std::less<>> prefixes;
    for (const auto& route : routes_) {
        prefixes.emplace(mount_prefix(route.pattern));
    }
    for (const auto& prefix : prefixes) {
        router.prefix(
            prefix,
            [this](const http::Request& request) -> net::awaitable<http::Response> {
                auto work = [this, &request] { return dispatch(request); };
                co_return co_await http::run_blocking(blocking_pool_, std::move(work));
            },
            [this](const http::Request& head) -> net::awaitable<core::Result<std::uint64_t>> {
                // Authentication (the database) only for the routes that need it first.
                auto found = lookup(head);
                if (found.route == nullptr || !found.route->body_limit) {
                    co_return JSON_BODY_LIMIT;
                }
                auto work = [this, &head, &found] {
                    return body_limit(*found.route, head, std::move(found.params));
                };
                co_return co_await http::run_blocking(blocking_pool_, std::move(work));
            });
    }
}

ApiRouter::Lookup ApiRouter::lookup(const http::Request& request) const {
    Lookup found;
    for (const auto& route : routes_) {
        if (!match(route.pattern, request.path, found.params)) {
            continue;
        }
        if (route.method != request.method) {
            found.allowed.push_back(route.method);
            continue;
        }
        found.route = &route;
        break;
    }
    return found;
}

http::Response ApiRouter::dispatch(const http::Request& request) {
    auto found = lookup(request);
    if (found.route != nullptr) {
        ApiRequest api_request{.http = request, .params = std::move(found.params), .principal = {}};
        // Every error of a route, its handler's included, is answered here, once.
        auto res = run(*found.route, api_request);
        return res ? std::move(*res) : http::Response::error(db::for_client(res.error()));
    }
    if (!found.allowed.empty()) {
        auto res = http::Response::error(core::make_error(
            core::Errc::MethodNotAllowed, "this path does not take " + std::string(request.method)));
        res.set_header("Allow", fmt::format("{}", fmt::join(found.allowed, ", ")));
        return res;
    }
    return http::Response::error(core::make_error(core::Errc::NotFound, "no such API route"));
}

core::Result<std::uint64_t>
ApiRouter::body_limit(const Route& route, const http::Request& head,
                      std::vector<std::pair<std::string, std::string>> params) {
    ApiRequest api_request{.http = head, .params = std::move(params), .principal = {}};
    auto limit = [&]() -> core::Result<std::uint64_t> {
        CDN_TRY_VOID(authorize(route, api_request));
        return route.body_limit(api_request);
    }();
    if (!limit) {
        return db::for_client(limit.error());
    }
    return limit;
}

core::Result<void> ApiRouter::authorize(const Route& route, ApiRequest& request) {
    if (route.access == Access::Internal) {
        const auto auth = request.http.header("authorization").value_or("");
        if (internal_secret_.empty() ||
            !security::constant_time_equals(auth, "Bearer " + internal_secret_)) {
            return core::make_error(core::Errc::Unauthorized,
                                    "this route needs the internal secret");
        }
    } else if (route.access == Access::Customer) {
        CDN_TRY(principal, authenticator_.authenticate(request.http));
        request.principal = std::move(principal);
    }
    return {};
}

core::Result<http::Response> ApiRouter::run(const Route& route, ApiRequest& request) {
    CDN_TRY_VOID(authorize(route, request));
    try {
        CDN_TRY(res, route.handler(request));
        // An error answer a handler builds itself (retry_later) already carries it.
        if (std::none_of(res.headers.begin(), res.headers.end(),
                         [](const auto& header) { return header.first == "Cache-Control"; })) {
            res.set_header("Cache-Control", "no-store");
        }
        return res;
    } catch (const std::exception& e) {
        // Handlers return errors as values; this is the last line before the HTTP layer.
        spdlog::error("{} {}: {}", request.http.method, route.pattern, e.what());
        return core::make_error(core::Errc::Internal, "internal error");
    }
}

} // namespace cdn::api
