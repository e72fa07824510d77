#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/metrics.h"
#include "core/result.h"
#include "http/access_log.h"
#include "http/router.h"
#include "http/server.h"

namespace cdn::app {

/**
 * `[metrics] listen`: /metrics on its own address (one I/O thread), for a scraper on a private
 * interface. There it needs no secret; the main listener then has no /metrics at all.
 */
class MetricsListener {
public:
    MetricsListener(const core::MetricsRegistry& metrics, http::AccessLog& access_log)
        : metrics_(metrics), access_log_(access_log) {}
    ~MetricsListener() { stop(); }
    MetricsListener(const MetricsListener&) = delete;
    MetricsListener& operator=(const MetricsListener&) = delete;

    /** Binds `address` (host:port) and serves on a thread of its own. */
    core::Result<void> start(const http::ServerConfig& main_server, const std::string& address);
    /** Drains and joins; a no-op when not started. */
    void stop();

private:
    const core::MetricsRegistry& metrics_;
    http::AccessLog& access_log_;
    http::Router router_;
    std::optional<http::Server> server_;
    std::thread thread_;
};

} // namespace cdn::app
