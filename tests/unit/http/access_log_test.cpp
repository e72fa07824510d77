#include "http/access_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

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

TEST(AccessLogTest, EveryLineOfEveryThreadIsWrittenWhole) {
    ::testing::internal::CaptureStdout();
    constexpr int THREADS = 4;
    constexpr int LINES = 2000; // over the flush size, so the writer drains while they log
    {
        AccessLog log;
        std::vector<std::thread> threads;
        for (int t = 0; t < THREADS; ++t) {
            threads.emplace_back([&log] {
                for (int i = 0; i < LINES; ++i) {
                    log.write({.unix_millis = 1'700'000'000'000, .method = "GET", .path = "/a"});
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
    }
    const auto out = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), THREADS * LINES);
    std::size_t lines = 0;
    for (std::size_t at = 0; (at = out.find(R"({"time":)", at)) != std::string::npos; ++at) {
        ++lines;
    }
    EXPECT_EQ(lines, static_cast<std::size_t>(THREADS * LINES));
}

TEST(AccessLogTest, AThreadWritingToTwoLogsInTurnLosesNoLine) {
    ::testing::internal::CaptureStdout();
    {
        AccessLog first;
        AccessLog second;
        for (int i = 0; i < 100; ++i) {
            first.write({.method = "GET", .path = "/first"});
            second.write({.method = "GET", .path = "/second"});
        }
    }
    const auto out = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 200);
}

} // namespace
} // namespace cdn::http
