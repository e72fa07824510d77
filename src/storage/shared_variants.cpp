#include "storage/shared_variants.h"

#include <algorithm>

namespace cdn::storage {
namespace {

/** Objects listed per page by remove_all_under(). */
constexpr std::size_t REMOVE_PAGE = 1000;

/** A version or variant name usable as part of a key: letters, digits, '-' and '_'. */
bool is_token(std::string_view text) {
    return !text.empty() && std::ranges::all_of(text, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

} // namespace

std::optional<std::string> shared_variant_key(std::string_view public_key, std::string_view path,
                                              std::string_view version,
                                              std::string_view variant) {
    if (!is_token(version) || !is_token(variant)) {
        return std::nullopt;
    }
    std::string key = shared_variant_path_prefix(public_key, path);
    key.append(version).append(".").append(variant);
    return key;
}

std::string shared_variant_path_prefix(std::string_view public_key, std::string_view path) {
    return shared_variant_tree_prefix(public_key, path) + "/";
}

std::string shared_variant_tree_prefix(std::string_view public_key,
                                       std::string_view path_prefix) {
    std::string prefix(SHARED_VARIANTS_PREFIX);
    prefix.append(public_key).append("/").append(path_prefix);
    return prefix;
}

core::Result<std::size_t> remove_all_under(BlobStore& store, std::string_view prefix) {
    std::size_t removed = 0;
    std::string after;
    for (;;) {
        CDN_TRY(page, store.list(prefix, after, REMOVE_PAGE));
        for (const auto& item : page.items) {
            auto gone = store.remove(item.key);
            if (!gone && gone.error().code != core::Errc::NotFound) {
                return gone.error();
            }
            removed += gone ? 1 : 0;
        }
        if (!page.next_after) {
            return removed;
        }
        after = *page.next_after;
    }
}

} // namespace cdn::storage
