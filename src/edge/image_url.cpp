#include "edge/image_url.h"

#include "security/keys.h"
#include "storage/key.h"

namespace cdn::edge {
namespace {

core::Result<void> decode_path(std::string_view encoded_path, ImageUrl& url) {
    auto decoded = core::percent_decode(encoded_path, false);
    if (!decoded) {
        return core::make_error(core::Errc::InvalidPath, "malformed percent-escape in the path");
    }
    url.path = std::move(*decoded);
    return storage::validate_key(url.path);
}

} // namespace

core::Result<ImageUrl> parse_image_path(std::string_view path) {
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
    CDN_TRY_VOID(decode_path(path.substr(slash + 1), url));
    return url;
}

core::Result<ImageUrl> parse_custom_domain_path(std::string_view path) {
    if (path.starts_with('/')) {
        path.remove_prefix(1);
    }
    ImageUrl url;
    CDN_TRY_VOID(decode_path(path, url));
    return url;
}

core::Result<std::optional<CloudflarePath>> split_cloudflare_path(std::string_view path) {
    constexpr std::string_view PREFIX = "/cdn-cgi/image/";
    if (!path.starts_with(PREFIX)) {
        return std::optional<CloudflarePath>();
    }
    path.remove_prefix(PREFIX.size());
    const auto slash = path.find('/');
    if (slash == std::string_view::npos || slash + 1 == path.size()) {
        return core::make_error(core::Errc::InvalidPath,
                                "/cdn-cgi/image/<options>/ names no image path");
    }
    const auto source = path.substr(slash);
    if (source.starts_with("/http:") || source.starts_with("/https:")) {
        return core::make_error(core::Errc::InvalidPath,
                                "the image must be a path here: other origins are not fetched");
    }
    return std::optional(CloudflarePath{.options = path.substr(0, slash), .source = source});
}

core::Result<core::QueryParams> parse_query(std::string_view query) {
    auto params = core::parse_query_string(query);
    if (!params) {
        return core::make_error(core::Errc::BadRequest, "malformed query string");
    }
    return std::move(*params);
}

} // namespace cdn::edge
