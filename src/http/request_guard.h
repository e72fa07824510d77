#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "core/error.h"

namespace cdn::http {

/**
 * Checks a raw request head (request line and header lines, up to the blank line) before
 * Beast parses it, refusing the shapes that let a front proxy and this server disagree on
 * where a request ends (request smuggling), which Beast 1.81 accepts:
 * a Transfer-Encoding other than exactly "chunked", Transfer-Encoding together with
 * Content-Length, chunked bodies in HTTP/1.0, obsolete folded header lines, whitespace
 * before a header's colon, duplicate Content-Length values that differ or are not digits, and
 * more than one Host header (RFC 9112 section 3.2).
 * Also answers 414 when the request target is longer than `max_url_bytes`.
 */
std::optional<core::Error> check_request_head(std::string_view head, std::size_t max_url_bytes);

} // namespace cdn::http
