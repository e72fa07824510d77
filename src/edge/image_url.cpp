#include "edge/image_url.h"

#include "core/strings.h"
#include "security/keys.h"
#include "storage/key.h"

namespace cdn::edge {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

core::Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> params;
    if (query.empty()) {
        return params;
    }
    for (const auto part : core::split(query, '&')) {
        if (part.empty()) {
            continue;
        }
        const auto eq = part.find('=');
        auto name = percent_decode(part.substr(0, eq), true);
        auto value = percent_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
        if (!name || !value) {
            return core::make_error(core::Errc::BadRequest, "malformed query string");
        }
        params.emplace_back(std::move(*name), std::move(*value));
    }
    return params;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) {
                return std::nullopt;
            }
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

core::Result<ImageUrl> parse_image_url(std::string_view path, std::string_view query) {
    if (path.starts_with('/')) {
        path.remove_prefix(1);
    }
    const auto slash = path.find('/');
    ImageUrl url;
    url.public_key = std::string(path.substr(0, slash));
    if (!security::is_public_key(url.public_key)) {
        return core::make_error(core::Errc::UnknownCustomer, "unknown public key");
    }
    if (slash == std::string_view::npos) {
        return core::make_error(core::Errc::InvalidPath, "the URL names no image path");
    }
    auto decoded = percent_decode(path.substr(slash + 1), false);
    if (!decoded) {
        return core::make_error(core::Errc::InvalidPath, "malformed percent-escape in the path");
    }
    url.path = std::move(*decoded);
    CDN_TRY_VOID(storage::validate_key(url.path));
    CDN_TRY(params, parse_query(query));
    url.params = std::move(params);
    return url;
}

} // namespace cdn::edge
