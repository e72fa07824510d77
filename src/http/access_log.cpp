#include "http/access_log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iterator>

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

void append(fmt::memory_buffer& out, std::string_view s) {
    out.append(s.data(), s.data() + s.size());
}

/** ".ddd": `n` (below 1000) as three decimals. */
void append_thousandths(fmt::memory_buffer& out, std::uint64_t n) {
    const char digits[4] = {'.', static_cast<char>('0' + n / 100), static_cast<char>('0' + n / 10 % 10),
                            static_cast<char>('0' + n % 10)};
    out.append(digits, digits + 4);
}

/** The line's time, "2026-01-02T03:04:05.678Z"; the seconds are formatted once a second per
 *  thread (strftime and the time-zone lookup behind it cost more than the rest of the line),
 *  the milliseconds by hand (a format string costs more than the three digits). */
void append_time(fmt::memory_buffer& out, std::int64_t unix_millis) {
    thread_local std::int64_t second = -1;
    thread_local std::string prefix;
    if (unix_millis / 1000 != second) {
        second = unix_millis / 1000;
        prefix = core::rfc3339(second);
        prefix.pop_back(); // the 'Z'
    }
    append(out, prefix);
    append_thousandths(out, static_cast<std::uint64_t>(unix_millis % 1000));
    append(out, "Z");
}

/** `ms` with three decimals, as "{:.3f}" would write it, without a float formatter. */
void append_millis(fmt::memory_buffer& out, double ms) {
    const auto micros = static_cast<std::uint64_t>(std::max(0.0, ms) * 1000.0 + 0.5);
    append(out, fmt::format_int(micros / 1000).str());
    append_thousandths(out, micros % 1000);
}

bool needs_escape(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; });
}

/** `s` as the inside of a JSON string; copied as it is in the usual case, nothing to escape. */
void append_escaped(fmt::memory_buffer& out, std::string_view s) {
    append(out, needs_escape(s) ? core::json_escape(s) : s);
}

/** The entry's JSON line, into a buffer the caller reuses (no allocation once it has grown). */
void format_line(fmt::memory_buffer& out, const AccessLogEntry& e) {
    append(out, R"({"time":")");
    append_time(out, e.unix_millis);
    append(out, R"(","type":"access","method":")");
    append_escaped(out, e.method);
    append(out, R"(","path":")");
    append_escaped(out, e.path);
    append(out, R"(","status":)");
    append(out, fmt::format_int(e.status).str());
    append(out, R"(,"bytes":)");
    append(out, fmt::format_int(e.bytes).str());
    append(out, R"(,"duration_ms":)");
    append_millis(out, e.duration_ms);
    append(out, ",");
    append(out, R"("cache":")");
    append(out, e.cache_status);
    append(out, R"(","customer":")");
    append_escaped(out, e.customer);
    append(out, R"(","request_id":")");
    append_escaped(out, e.request_id);
    append(out, "\"}\n");
}

std::uint64_t next_log_id() {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

} // namespace

AccessLog::AccessLog() : id_(next_log_id()), writer_([this] { run(); }) {}

AccessLog::~AccessLog() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
}

AccessLog::Buffer& AccessLog::local_buffer() {
    // This thread's buffer of the log it last wrote to: a server has one log, so it is found
    // again at once; by id, as a log destroyed and another made at its address is another.
    thread_local std::uint64_t owner = 0;
    thread_local Buffer* buffer = nullptr;
    if (owner == id_) {
        return *buffer;
    }
    // A thread taking turns between two logs finds its buffer again: one per thread and log.
    std::lock_guard lock(buffers_mutex_);
    const auto me = std::this_thread::get_id();
    const auto mine = std::find_if(buffers_.begin(), buffers_.end(),
                                   [me](const auto& b) { return b->writer == me; });
    buffer = mine != buffers_.end() ? mine->get() : buffers_.emplace_back(new Buffer{me}).get();
    owner = id_;
    return *buffer;
}

void AccessLog::write(const AccessLogEntry& e) {
    thread_local fmt::memory_buffer line;
    line.clear();
    format_line(line, e);
    auto& buffer = local_buffer();
    bool wake = false;
    {
        std::lock_guard lock(buffer.mutex);
        buffer.pending.append(line.data(), line.size());
        wake = buffer.pending.size() >= FLUSH_BYTES;
    }
    if (wake) {
        wake_.notify_one();
    }
}

void AccessLog::drain(std::string& out) {
    std::lock_guard list(buffers_mutex_);
    for (const auto& buffer : buffers_) {
        {
            std::lock_guard lock(buffer->mutex);
            out.swap(buffer->pending);
        }
        write_all(out);
        out.clear();
    }
}

void AccessLog::flush() {
    std::string out;
    drain(out);
}

void AccessLog::run() {
    // The lines go on into the string that was written out last time, which keeps its
    // capacity, instead of growing a new one on every flush.
    std::string out;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, FLUSH_INTERVAL);
        lock.unlock();
        drain(out);
        lock.lock();
    }
    lock.unlock();
    drain(out);
}

} // namespace cdn::http
