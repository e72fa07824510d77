#include "core/random.h"

#include <sys/random.h>

#include <stdexcept>

#include "core/strings.h"

namespace cdn::core {

std::string random_bytes(std::size_t count) {
    std::string out(count, '\0');
    std::size_t filled = 0;
    while (filled < count) {
        const ssize_t n = getrandom(out.data() + filled, count - filled, 0);
        if (n < 0) {
            throw std::runtime_error("getrandom failed");
        }
        filled += static_cast<std::size_t>(n);
    }
    return out;
}

std::string random_base62(std::size_t length) {
    static constexpr std::string_view ALPHABET =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::string out;
    out.reserve(length);
    while (out.size() < length) {
        for (unsigned char c : random_bytes(length * 2)) {
            // 248 = 4 * 62: values at or above it would bias the first characters.
            if (c < 248 && out.size() < length) {
                out.push_back(ALPHABET[c % 62]);
            }
        }
    }
    return out;
}

std::string random_hex(std::size_t count) { return to_hex(random_bytes(count)); }

} // namespace cdn::core
