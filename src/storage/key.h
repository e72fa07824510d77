#pragma once

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

} // namespace cdn::storage
