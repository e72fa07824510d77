#include "db/placeholders.h"

#include <cctype>
#include <set>
#include <string>

#include "db/database.h"

namespace cdn::db {
namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

bool is_identifier_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$';
}

/** The index just past the construct opened at `i` (a quote, comment or dollar quote). */
std::size_t skip_quoted(std::string_view sql, std::size_t i) {
    const auto from = [&](std::string_view close, std::size_t start) {
        const auto end = sql.find(close, start);
        return end == std::string_view::npos ? sql.size() : end + close.size();
    };
    if (sql[i] == '\'' || sql[i] == '"') {
        // A doubled quote inside is an escaped quote: skipping to the next quote and carrying
        // on from there handles it, since the scan resumes on the second quote.
        return from(sql.substr(i, 1), i + 1);
    }
    if (sql.substr(i, 2) == "--") {
        return from("\n", i + 2);
    }
    if (sql.substr(i, 2) == "/*") {
        return from("*/", i + 2);
    }
    // A dollar quote: $$ or $tag$ ... the same tag.
    const auto close = sql.find('$', i + 1);
    if (close == std::string_view::npos) {
        return i + 1;
    }
    return from(sql.substr(i, close - i + 1), close + 1);
}

bool opens_quoted(std::string_view sql, std::size_t i) {
    const char c = sql[i];
    if (c == '\'' || c == '"' || sql.substr(i, 2) == "--" || sql.substr(i, 2) == "/*") {
        return true;
    }
    return c == '$' && i + 1 < sql.size() && !is_digit(sql[i + 1]) &&
           (i == 0 || !is_identifier_char(sql[i - 1]));
}

std::set<std::size_t> placeholders_in(std::string_view sql) {
    std::set<std::size_t> used;
    std::size_t i = 0;
    while (i < sql.size()) {
        if (opens_quoted(sql, i)) {
            i = skip_quoted(sql, i);
            continue;
        }
        if (sql[i] == '$' && (i == 0 || !is_identifier_char(sql[i - 1]))) {
            std::size_t end = i + 1;
            while (end < sql.size() && is_digit(sql[end])) {
                ++end;
            }
            if (end > i + 1 && end - i < 10) {
                used.insert(std::stoul(std::string(sql.substr(i + 1, end - i - 1))));
            }
            i = end;
            continue;
        }
        ++i;
    }
    return used;
}

} // namespace

core::Result<void> check_placeholders(std::string_view sql, std::size_t count) {
    const auto used = placeholders_in(sql);
    for (std::size_t n = 1; n <= count; ++n) {
        if (!used.contains(n)) {
            return database_error(core::Errc::Internal,
                                  "placeholder $" + std::to_string(n) +
                                      " is missing (use $1..$N) in: " +
                                      std::string(sql.substr(0, 160)));
        }
    }
    if (!used.empty() && *used.rbegin() > count) {
        return database_error(core::Errc::Internal,
                              "statement uses $" + std::to_string(*used.rbegin()) + " but " +
                                  std::to_string(count) + " values were given in: " +
                                  std::string(sql.substr(0, 160)));
    }
    return {};
}

} // namespace cdn::db
