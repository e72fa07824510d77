#include "storage/key.h"

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

} // namespace cdn::storage
