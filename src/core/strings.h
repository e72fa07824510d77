#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdn::core {

std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char sep);

std::string to_hex(std::string_view bytes);

/** Parses a whole decimal integer; nullopt on any other character or overflow. */
std::optional<std::int64_t> parse_int(std::string_view s);

/** RFC 7231 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
std::string http_date(std::int64_t unix_seconds);

/** RFC 3339 UTC, e.g. "2026-11-25T20:40:57Z". */
std::string rfc3339(std::int64_t unix_seconds);

/** Escapes a string for a JSON string literal (without the quotes). */
std::string json_escape(std::string_view s);

/** RFC 3986 encoding: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex); '/'
 *  stays when `keep_slash` (paths). A space is %20, never '+'. */
std::string percent_encode(std::string_view text, bool keep_slash = false);

/** Decodes %XX escapes (and '+' as space when `plus_is_space`); nullopt on a bad escape. */
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

using QueryParams = std::vector<std::pair<std::string, std::string>>;

/** `a=1&b=2` into decoded pairs in order (empty parts skipped, a name without `=` has an
 *  empty value); nullopt on a malformed escape. */
std::optional<QueryParams> parse_query_string(std::string_view query);

} // namespace cdn::core
