#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "cache/cached_variant.h"
#include "core/clock.h"

namespace cdn::cache::testing {

inline VariantPtr make_variant(const std::string& key, std::size_t body_size, char fill = 'x') {
    auto v = std::make_shared<CachedVariant>();
    v->key = key;
    v->content_type = "image/webp";
    v->etag = "\"0123456789abcdef0123456789abcdef\"";
    v->last_modified = 1'700'000'000;
    v->stored_at = 1'700'000'100;
    v->body = std::string(body_size, fill);
    return v;
}

} // namespace cdn::cache::testing
