#include "http/router.h"

#include <algorithm>

namespace cdn::http {

void Router::exact(std::string path, Handler handler) {
    exact_.insert_or_assign(std::move(path), std::move(handler));
}

void Router::prefix(std::string path_prefix, Handler handler) {
    prefixes_.emplace_back(std::move(path_prefix), std::move(handler));
    // Longest prefix first, so /api/v1/images/ wins over /api/v1/.
    std::sort(prefixes_.begin(), prefixes_.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void Router::fallback(Handler handler) { fallback_ = std::move(handler); }

const Handler* Router::match(std::string_view path) const {
    if (const auto it = exact_.find(std::string(path)); it != exact_.end()) {
        return &it->second;
    }
    for (const auto& [p, handler] : prefixes_) {
        if (path.starts_with(p)) {
            return &handler;
        }
    }
    return fallback_ ? &fallback_ : nullptr;
}

} // namespace cdn::http
