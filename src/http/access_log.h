#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace cdn::http {

struct AccessLogEntry {
    std::int64_t unix_millis = 0;
    std::string_view method;
    std::string_view path;
    unsigned status = 0;
    std::uint64_t bytes = 0;
    double duration_ms = 0;
    std::string_view cache_status;
    std::string_view customer;
    std::string_view request_id;
};

/** One JSON line per request on stdout, written by a background thread in batches so that
 *  no request waits on a write(2) of its log line. */
class AccessLog {
public:
    AccessLog();
    ~AccessLog();
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    void write(const AccessLogEntry& entry);
    /** Writes out everything buffered so far (at shutdown). */
    void flush();

private:
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::string pending_;
    bool stopping_ = false;
    std::thread writer_;
};

} // namespace cdn::http
