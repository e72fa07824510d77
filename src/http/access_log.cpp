#include "http/access_log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>

#include "core/strings.h"

namespace cdn::http {
namespace {

constexpr std::size_t FLUSH_BYTES = 64 * 1024;
constexpr auto FLUSH_INTERVAL = std::chrono::milliseconds(200);

void write_all(std::string_view data) {
    while (!data.empty()) {
        const auto n = ::write(STDOUT_FILENO, data.data(), data.size());
        if (n <= 0) {
            return; // stdout closed: dropping log lines must not stop serving
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string format_millis(std::int64_t unix_millis) {
    auto s = core::rfc3339(unix_millis / 1000);
    return fmt::format("{}.{:03}Z", s.substr(0, s.size() - 1), unix_millis % 1000);
}

} // namespace

AccessLog::AccessLog() : writer_([this] { run(); }) {}

AccessLog::~AccessLog() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
}

void AccessLog::write(const AccessLogEntry& e) {
    auto line = fmt::format(
        R"({{"time":"{}","type":"access","method":"{}","path":"{}","status":{},"bytes":{},"duration_ms":{:.3f},"cache":"{}","customer":"{}","request_id":"{}"}})"
        "\n",
        format_millis(e.unix_millis), core::json_escape(e.method), core::json_escape(e.path),
        e.status, e.bytes, e.duration_ms, e.cache_status, core::json_escape(e.customer),
        core::json_escape(e.request_id));
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        pending_ += line;
        wake = pending_.size() >= FLUSH_BYTES;
    }
    if (wake) {
        wake_.notify_one();
    }
}

void AccessLog::flush() {
    std::string out;
    {
        std::lock_guard lock(mutex_);
        out.swap(pending_);
    }
    write_all(out);
}

void AccessLog::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, FLUSH_INTERVAL);
        std::string out;
        out.swap(pending_);
        lock.unlock();
        write_all(out);
        lock.lock();
    }
    std::string out;
    out.swap(pending_);
    lock.unlock();
    write_all(out);
}

} // namespace cdn::http
