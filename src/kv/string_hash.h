#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace cdn::kv {

/** A transparent hash, so maps keyed by std::string are searched with a string_view (the hit
 *  path's public key) without allocating. */
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

} // namespace cdn::kv
