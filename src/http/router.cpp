#include "http/router.h"

#include <algorithm>

namespace cdn::http {

BodyLimit fixed_body_limit(std::uint64_t bytes) {
    return [bytes](const Request&) -> boost::asio::awaitable<core::Result<std::uint64_t>> {
        co_return bytes;
    };
}

void Router::exact(std::string path, Handler handler, BodyLimit body_limit) {
    exact_.insert_or_assign(std::move(path), Route{std::move(handler), std::move(body_limit)});
}

void Router::prefix(std::string path_prefix, Handler handler, BodyLimit body_limit) {
    prefixes_.emplace_back(std::move(path_prefix),
                           Route{std::move(handler), std::move(body_limit)});
    // Longest prefix first, so /api/v1/images/ wins over /api/v1/.
    std::sort(prefixes_.begin(), prefixes_.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void Router::fallback(Handler handler, BodyLimit body_limit) {
    fallback_ = Route{std::move(handler), std::move(body_limit)};
}

const Route* Router::match(std::string_view path) const {
    if (const auto it = exact_.find(std::string(path)); it != exact_.end()) {
        return &it->second;
    }
    for (const auto& [p, route] : prefixes_) {
        if (path.starts_with(p)) {
            return &route;
        }
    }
    return fallback_.handler ? &fallback_ : nullptr;
}

} // namespace cdn::http
