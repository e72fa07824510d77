#include "app/metrics_listener.h"

namespace cdn::app {

core::Result<void> MetricsListener::start(const http::ServerConfig& main_server,
                                          const std::string& address) {
    router_.exact("/metrics", [this](const http::Request&)
                                  -> boost::asio::awaitable<http::Response> {
        co_return http::Response::text(200, "text/plain; version=0.0.4", metrics_.render());
    });
    router_.fallback([](const http::Request&) -> boost::asio::awaitable<http::Response> {
        co_return http::Response::error(core::make_error(core::Errc::NotFound, "only /metrics here"));
    });
    auto config = main_server;
    config.listen = address;
    config.threads = 1;
    server_.emplace(config, router_, access_log_);
    if (auto listening = server_->listen(); !listening) {
        server_.reset();
        return listening;
    }
    thread_ = std::thread([this] { server_->run(); });
    return {};
}

void MetricsListener::stop() {
    if (server_) {
        server_->shutdown();
    }
    if (thread_.joinable()) {
        thread_.join();
    }
    server_.reset();
}

} // namespace cdn::app
