#include "http/request_guard.h"

#include <gtest/gtest.h>

namespace cdn::http {
namespace {

std::optional<core::Errc> check(const std::string& head) {
    auto error = check_request_head(head, 100);
    return error ? std::optional(error->code) : std::nullopt;
}

TEST(RequestGuard, PlainRequestsPass) {
    EXPECT_FALSE(check("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_FALSE(check("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    EXPECT_FALSE(check("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"));
}

TEST(RequestGuard, SmugglingShapesAreRefused) {
    for (const char* head : {
             "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
             "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
             "GET / HTTP/1.1\r\nX-A: 1\r\n\tfolded\r\n\r\n",
             "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
             "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
             "POST / HTTP/1.1\r\nContent-Length : 1\r\n\r\n",
             "GARBAGE\r\n\r\n",
         }) {
        EXPECT_EQ(check(head), core::Errc::BadRequest) << head;
    }
}

TEST(RequestGuard, ADuplicateHostIs400) {
    EXPECT_EQ(check("GET /a HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n"),
              core::Errc::BadRequest);
    // Even when both say the same, and whatever the spelling of the name.
    EXPECT_EQ(check("GET /a HTTP/1.1\r\nHost: a.test\r\nX-A: 1\r\nhOST: a.test\r\n\r\n"),
              core::Errc::BadRequest);
    EXPECT_FALSE(check("GET /a HTTP/1.1\r\nHost: a.test\r\nX-Host: b.test\r\n\r\n"));
}

TEST(RequestGuard, LongTargetIs414) {
    EXPECT_EQ(check("GET /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n"), core::Errc::UriTooLong);
}

} // namespace
} // namespace cdn::http
