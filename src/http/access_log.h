#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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
    /** One writing thread's lines: the I/O threads never share a lock or a cache line while
     *  they log, only with the writer, a few times a second. */
    struct alignas(64) Buffer {
        std::thread::id writer;
        std::mutex mutex;
        std::string pending;
    };

    Buffer& local_buffer();
    /** Writes out every thread's pending lines, through `out` (reused: it keeps its capacity). */
    void drain(std::string& out);
    void run();

    /** Tells this log's thread-local buffers from those of an earlier one at the same address. */
    const std::uint64_t id_;
    std::mutex buffers_mutex_;
    std::vector<std::unique_ptr<Buffer>> buffers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread writer_;
};

} // namespace cdn::http
