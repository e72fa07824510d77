#pragma once

#include <cstddef>
#include <string_view>

#include "core/result.h"

namespace cdn::storage {

constexpr std::size_t MAX_KEY_BYTES = 1024;

/**
 * An object key or path is refused (invalid_path) when it is empty, over 1024 bytes, starts
 * with '/', has an empty, "." or ".." segment, a backslash, or a control character: none of
 * these can name a file outside the customer's namespace, in any backend.
 */
core::Result<void> validate_key(std::string_view key);

/** The '/'-separated segments of a key or path: "a/b/c.png" has 3. */
std::size_t path_segments(std::string_view path);

/**
 * invalid_path when `path`, an original's path inside the customer's namespace (without the
 * public key), has more than `max_segments` segments ([storage] max_path_segments): every
 * segment but the last is a folder a store walks through, so depth is bounded like length.
 */
core::Result<void> validate_depth(std::string_view path, std::size_t max_segments);

} // namespace cdn::storage
