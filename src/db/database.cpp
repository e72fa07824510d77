#include "db/database.h"

#include <utility>

namespace cdn::db {

core::Result<void> Database::exclusively(std::int64_t /*key*/, const LockedBody& body) {
    return body();
}

std::optional<std::string> Row::text(std::size_t i) const {
    if (i >= values.size()) {
        return std::nullopt;
    }
    if (const auto* s = std::get_if<std::string>(&values[i])) {
        return *s;
    }
    return std::nullopt;
}

std::optional<std::int64_t> Row::integer(std::size_t i) const {
    if (i >= values.size()) {
        return std::nullopt;
    }
    if (const auto* n = std::get_if<std::int64_t>(&values[i])) {
        return *n;
    }
    return std::nullopt;
}

std::optional<double> Row::real(std::size_t i) const {
    if (i >= values.size()) {
        return std::nullopt;
    }
    if (const auto* d = std::get_if<double>(&values[i])) {
        return *d;
    }
    if (const auto* n = std::get_if<std::int64_t>(&values[i])) {
        return static_cast<double>(*n);
    }
    return std::nullopt;
}

namespace {
constexpr std::string_view PUBLIC_MESSAGE = "database error";
} // namespace

core::Error database_error(core::Errc code, std::string detail) {
    return core::make_error(code, std::string(PUBLIC_MESSAGE), std::move(detail));
}

bool is_database_unavailable(const core::Error& error) {
    return error.code == core::Errc::Unavailable && error.message == PUBLIC_MESSAGE;
}

core::Error for_client(core::Error error) {
    if (is_database_unavailable(error)) {
        error.code = core::Errc::DatabaseUnavailable;
        error.message = "the database is unavailable; retry later";
    }
    return error;
}

} // namespace cdn::db
