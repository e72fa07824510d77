#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <utility>

namespace cdn::fuzz {

/** The fuzzer's input as text (every parser here takes bytes as a string_view). */
inline std::string_view text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/** Splits `input` at the first `separator`: {before, after}; after is empty without one. */
inline std::pair<std::string_view, std::string_view> split_once(std::string_view input,
                                                                char separator) {
    const auto at = input.find(separator);
    if (at == std::string_view::npos) {
        return {input, {}};
    }
    return {input.substr(0, at), input.substr(at + 1)};
}

} // namespace cdn::fuzz

/** A property of the code under test: when it does not hold, the run stops with a crash (the
 *  input is saved as the reproducer) and the property's text on stderr. */
#define FUZZ_CHECK(condition)                                                                  \
    do {                                                                                       \
        if (!(condition)) {                                                                    \
            std::fprintf(stderr, "property violated: %s (%s:%d)\n", #condition, __FILE__,       \
                         __LINE__);                                                            \
            __builtin_trap();                                                                  \
        }                                                                                      \
    } while (false)
