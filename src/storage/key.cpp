#include "storage/key.h"

#include <algorithm>

#include "core/strings.h"

namespace cdn::storage {
namespace {

core::Error invalid(std::string message) {
    return core::make_error(core::Errc::InvalidPath, std::move(message));
}

} // namespace

core::Result<void> validate_key(std::string_view key) {
    if (key.empty()) {
        return invalid("the path is empty");
    }
    if (key.size() > MAX_KEY_BYTES) {
        return invalid("the path is longer than 1024 bytes");
    }
    if (key.front() == '/') {
        return invalid("the path must not start with '/'");
    }
    for (unsigned char c : key) {
        if (c < 0x20 || c == 0x7F || c == '\\') {
            return invalid("the path contains a control character or a backslash");
        }
    }
    for (const auto segment : core::split(key, '/')) {
        if (segment.empty() || segment == "." || segment == "..") {
            return invalid("the path has an empty, '.' or '..' segment");
        }
    }
    return {};
}

std::size_t path_segments(std::string_view path) {
    return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/')) + 1;
}

core::Result<void> validate_depth(std::string_view path, std::size_t max_segments) {
    if (path_segments(path) > max_segments) {
        return invalid("the path has more than " + std::to_string(max_segments) + " segments");
    }
    return {};
}

} // namespace cdn::storage
