#include "cache/portable_variant.h"

#include <fmt/format.h>

#include <charconv>

#include "core/hash.h"

namespace cdn::cache {
namespace {

constexpr std::string_view MAGIC = "imagecdn-variant/1\n";

core::Error malformed(std::string detail) {
    return core::make_error(core::Errc::InvalidRequest, "malformed shared variant",
                            std::move(detail));
}

/** The value of the head line `name: value`, taken off the front of `head`. */
core::Result<std::string_view> take_line(std::string_view& head, std::string_view name) {
    const auto end = head.find('\n');
    if (end == std::string_view::npos || !head.starts_with(name) ||
        head.substr(name.size(), 2) != ": ") {
        return malformed(fmt::format("expected {}", name));
    }
    const auto value = head.substr(name.size() + 2, end - name.size() - 2);
    head.remove_prefix(end + 1);
    return value;
}

core::Result<std::int64_t> take_number(std::string_view& head, std::string_view name) {
    CDN_TRY(text, take_line(head, name));
    std::int64_t value = 0;
    if (std::from_chars(text.data(), text.data() + text.size(), value).ptr !=
        text.data() + text.size()) {
        return malformed(fmt::format("{} is not a number", name));
    }
    return value;
}

} // namespace

std::string encode_portable(const CachedVariant& variant) {
    auto out = fmt::format("{}content-type: {}\netag: {}\nlast-modified: {}\nstored-at: {}\n\n",
                           MAGIC, variant.content_type, variant.etag, variant.last_modified,
                           variant.stored_at);
    out += variant.body;
    return out;
}

core::Result<CachedVariant> decode_portable(std::string_view bytes, std::string key) {
    const auto head_end = bytes.find("\n\n");
    if (!bytes.starts_with(MAGIC) || head_end == std::string_view::npos) {
        return malformed("no imagecdn-variant/1 head");
    }
    auto head = bytes.substr(MAGIC.size(), head_end + 1 - MAGIC.size());
    CachedVariant v;
    v.key = std::move(key);
    CDN_TRY(content_type, take_line(head, "content-type"));
    CDN_TRY(etag, take_line(head, "etag"));
    CDN_TRY(last_modified, take_number(head, "last-modified"));
    CDN_TRY(stored_at, take_number(head, "stored-at"));
    v.content_type = std::string(content_type);
    v.etag = std::string(etag);
    v.last_modified = last_modified;
    v.stored_at = stored_at;
    v.body = std::string(bytes.substr(head_end + 2));
    if (v.etag != "\"" + core::hash128_hex(v.body) + "\"") {
        return malformed("the body does not match its etag");
    }
    return v;
}

} // namespace cdn::cache
