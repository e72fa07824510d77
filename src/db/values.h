#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "db/database.h"

namespace cdn::db {

/** A text parameter from a view (Value owns its string). */
inline Value text_value(std::string_view s) { return std::string(s); }

/** NULL when absent: the column is nullable. */
inline Value nullable(const std::optional<std::string>& v) {
    return v ? Value{*v} : Value{nullptr};
}

/** NULL when absent: the column is nullable. */
inline Value nullable(const std::optional<std::int64_t>& v) {
    return v ? Value{*v} : Value{nullptr};
}

} // namespace cdn::db
