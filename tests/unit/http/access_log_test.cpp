#include "http/access_log.h"

#include <gtest/gtest.h>

#include <string>

namespace cdn::http {
namespace {

/** What an AccessLog wrote to stdout for these entries, once it has flushed and stopped. */
std::string logged(const std::vector<AccessLogEntry>& entries) {
    ::testing::internal::CaptureStdout();
    {
        AccessLog log;
        for (const auto& entry : entries) {
            log.write(entry);
        }
    }
    return ::testing::internal::GetCapturedStdout();
}

TEST(AccessLogTest, WritesOneJsonLinePerRequest) {
    const auto out = logged({{
        .unix_millis = 1'700'000'000'007,
        .method = "GET",
        .path = "/pk/a \"b\".jpg",
        .status = 200,
        .bytes = 26686,
        .duration_ms = 1.2345,
        .cache_status = "HIT",
        .customer = "pk_abc",
        .request_id = "r-1",
    }});
    EXPECT_EQ(out, R"({"time":"2023-11-14T22:13:20.007Z","type":"access","method":"GET",)"
                   R"("path":"/pk/a \"b\".jpg","status":200,"bytes":26686,"duration_ms":1.235,)"
                   R"("cache":"HIT","customer":"pk_abc","request_id":"r-1"})"
                   "\n");
}

TEST(AccessLogTest, MillisecondsKeepTheirLeadingZerosAcrossSeconds) {
    const auto out = logged({{.unix_millis = 1'700'000'000'999, .method = "GET"},
                             {.unix_millis = 1'700'000'001'050, .method = "GET"}});
    EXPECT_NE(out.find(R"("time":"2023-11-14T22:13:20.999Z")"), std::string::npos) << out;
    EXPECT_NE(out.find(R"("time":"2023-11-14T22:13:21.050Z")"), std::string::npos) << out;
}

} // namespace
} // namespace cdn::http
