#include "http/request_guard.h"

#include <vector>

#include "core/strings.h"

namespace cdn::http {
namespace {

core::Error bad(std::string message) {
    return core::make_error(core::Errc::BadRequest, std::move(message));
}

bool all_digits(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

struct HeadFacts {
    int transfer_encodings = 0;
    bool transfer_encoding_is_chunked = true;
    std::vector<std::string_view> content_lengths;
    int hosts = 0;
};

std::optional<core::Error> check_field_line(std::string_view line, HeadFacts& facts) {
    if (line.front() == ' ' || line.front() == '\t') {
        return bad("obsolete line folding is not accepted");
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        return bad("malformed header line");
    }
    const auto name = line.substr(0, colon);
    if (name.back() == ' ' || name.back() == '\t') {
        return bad("whitespace before a header's colon is not accepted");
    }
    const auto value = core::trim(line.substr(colon + 1));
    if (core::iequals(name, "transfer-encoding")) {
        ++facts.transfer_encodings;
        facts.transfer_encoding_is_chunked =
            facts.transfer_encoding_is_chunked && core::iequals(value, "chunked");
    } else if (core::iequals(name, "content-length")) {
        facts.content_lengths.push_back(value);
    } else if (core::iequals(name, "host")) {
        ++facts.hosts;
    }
    return std::nullopt;
}

std::optional<core::Error> check_framing(const HeadFacts& facts, bool http10) {
    if (facts.hosts > 1) {
        // RFC 9112 3.2: a proxy and this server could pick different ones (the customer of a
        // custom domain is chosen by Host).
        return bad("more than one Host header");
    }
    if (facts.transfer_encodings > 0) {
        if (facts.transfer_encodings > 1 || !facts.transfer_encoding_is_chunked) {
            return bad("Transfer-Encoding must be exactly \"chunked\"");
        }
        if (!facts.content_lengths.empty()) {
            return bad("Transfer-Encoding and Content-Length together are not accepted");
        }
        if (http10) {
            return bad("chunked bodies are not accepted in HTTP/1.0");
        }
    }
    for (const auto cl : facts.content_lengths) {
        if (!all_digits(cl) || cl != facts.content_lengths.front()) {
            return bad("invalid or conflicting Content-Length");
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<core::Error> check_request_head(std::string_view head, std::size_t max_url_bytes) {
    const auto line_end = head.find("\r\n");
    const auto request_line = head.substr(0, line_end);
    const auto first_space = request_line.find(' ');
    const auto last_space = request_line.rfind(' ');
    if (first_space == std::string_view::npos || first_space == last_space) {
        return bad("malformed request line");
    }
    if (last_space - first_space - 1 > max_url_bytes) {
        return core::make_error(core::Errc::UriTooLong, "the request URL is too long");
    }
    const bool http10 = request_line.substr(last_space + 1) == "HTTP/1.0";

    HeadFacts facts;
    std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
        auto end = head.find("\r\n", pos);
        if (end == std::string_view::npos) {
            end = head.size();
        }
        const auto line = head.substr(pos, end - pos);
        pos = end + 2;
        if (line.empty()) {
            break;
        }
        if (auto error = check_field_line(line, facts)) {
            return error;
        }
    }
    return check_framing(facts, http10);
}

} // namespace cdn::http
