#pragma once

#include <string>
#include <string_view>

#include "cache/cached_variant.h"
#include "core/result.h"

namespace cdn::cache {

/**
 * A variant as the shared tier stores it for every node, whatever their byte order: a short text
 * head (`imagecdn-variant/1`, then content-type, etag, last-modified and stored-at lines, then an
 * empty line) and the body. Only answers with status 200 are shared.
 */
std::string encode_portable(const CachedVariant& variant);

/** The inverse of encode_portable, with `key` as the variant's cache key. The ETag is a hash of
 *  the body, so it is checked: InvalidRequest for a malformed head, a wrong version, or a body
 *  whose hash is not its ETag (a torn or foreign object is a miss, never an answer). */
core::Result<CachedVariant> decode_portable(std::string_view bytes, std::string key);

} // namespace cdn::cache
