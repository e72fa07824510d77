// The server's head path (Server::Impl::scan_head and parse_head, src/http/server.cpp): the head
// ends at the first blank line, http::check_request_head judges it, then Beast parses it.
// Property: a head the guard passes is, to Beast, one request with one body length: never
// Transfer-Encoding with Content-Length, never a Transfer-Encoding other than chunked, never
// chunked in HTTP/1.0, at most one Content-Length value, one Host, all of it consumed.
#include <boost/beast/http.hpp>
#include <limits>

#include "fuzz_check.h"
#include "http/request_guard.h"

namespace {

namespace bhttp = boost::beast::http;

constexpr std::size_t MAX_URL_BYTES = 8192;
constexpr std::size_t MAX_HEADER_BYTES = 65536;

std::size_t count(const bhttp::fields& fields, bhttp::field name) {
    const auto [first, last] = fields.equal_range(name);
    return static_cast<std::size_t>(std::distance(first, last));
}

void check_one_length(const bhttp::request_parser<bhttp::string_body>& parser,
                      std::size_t consumed, std::size_t head_size) {
    const auto& request = parser.get();
    FUZZ_CHECK(consumed == head_size);
    FUZZ_CHECK(count(request, bhttp::field::host) <= 1);
    const auto transfer_encodings = count(request, bhttp::field::transfer_encoding);
    FUZZ_CHECK(transfer_encodings <= 1);
    if (transfer_encodings == 1) {
        FUZZ_CHECK(parser.chunked());
        FUZZ_CHECK(count(request, bhttp::field::content_length) == 0);
        FUZZ_CHECK(request.version() == 11);
    }
    if (count(request, bhttp::field::content_length) > 0) {
        FUZZ_CHECK(!parser.chunked());
        FUZZ_CHECK(parser.content_length().has_value());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdn;
    const auto input = fuzz::text(data, size);
    const auto end = input.find("\r\n\r\n");
    if (end == std::string_view::npos || end + 4 > MAX_HEADER_BYTES) {
        return 0;
    }
    const auto head = input.substr(0, end + 4);
    if (http::check_request_head(head, MAX_URL_BYTES)) {
        return 0;
    }
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(MAX_HEADER_BYTES));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    boost::beast::error_code ec;
    const auto consumed = parser.put(boost::asio::buffer(head.data(), head.size()), ec);
    if (ec || !parser.is_header_done()) {
        return 0; // answered 400 malformed request
    }
    check_one_length(parser, consumed, head.size());
    return 0;
}
