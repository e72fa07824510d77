#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "http/access_log.h"
#include "http/router.h"

namespace cdn::http {

/** [server] section of the config; every limit of the HTTP layer. */
struct ServerConfig {
    /** Address to listen on, "host:port" (port 0 picks a free one). Default "127.0.0.1:8080". */
    std::string listen = "127.0.0.1:8080";
    /** I/O threads; 0 means one per core. */
    unsigned threads = 0;
    /** Largest request body accepted on any route (413 above). Each route takes less: its
     *  Router body limit, decided from the head before the body is read. Default 100 MB. */
    std::uint64_t max_body_bytes = 104857600;
    /** Time allowed from a request's first byte to the end of its header (slowloris bound). */
    std::uint64_t header_timeout_ms = 10000;
    /** Time allowed to read a request body. */
    std::uint64_t body_timeout_ms = 60000;
    /** Time a keep-alive connection may sit idle between requests. */
    std::uint64_t idle_timeout_ms = 30000;
    /** Open connections at most; further ones are answered 503 and closed. */
    std::uint64_t max_connections = 10000;
    /** Open connections from one client address at most (peers in trusted_proxies are not
     *  limited). */
    std::uint64_t max_connections_per_client = 256;
    /** Time a new connection may take to send the first byte of its first request (between
     *  keep-alive requests idle_timeout_ms applies; the head then has header_timeout_ms). */
    std::uint64_t first_byte_timeout_ms = 5000;
    /** Slowest transfer accepted for request heads and bodies, bytes per second measured over
     *  5 s windows; slower connections are answered 408 and closed. 0 turns it off. */
    std::uint64_t min_bytes_per_second = 1024;
    /** Peers (IP addresses or CIDR ranges) whose X-Forwarded-For names the client. */
    std::vector<std::string> trusted_proxies;
    /** Longest request target (414 above). Default 8 KB. */
    std::uint64_t max_url_bytes = 8192;
    /** Longest request head, request line included (431 above). Not in the spec's table. */
    std::uint64_t max_header_bytes = 65536;
    /** Base URL printed and used in links; default "http://{listen}". */
    std::string public_base_url;
    /** On SIGTERM, how long in-flight requests may take to finish before the process exits. */
    std::uint64_t drain_timeout_ms = 20000;
    /** Sent as `X-Served-By` on every answer, so that behind a load balancer one can tell which
     *  node answered. Empty: "{hostname}:{port}", the port once bound. */
    std::string node_name;
};

/**
 * The HTTP/1.1 server: one coroutine per connection, N I/O threads each with its own event loop
 * (a connection stays on one), every read bounded in time and size. Handlers are looked up in
 * the Router and never see the socket.
 */
class Server {
public:
    Server(const ServerConfig& config, const Router& router, AccessLog& access_log);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /** Binds and listens; after this, port() is known. */
    core::Result<void> listen();
    std::uint16_t port() const;

    /** Runs the I/O threads until shutdown completes. Call from the main thread. */
    void run();

    /** Graceful stop, callable from any thread: stop accepting, close idle connections, let
     *  in-flight requests finish (at most drain_timeout_ms), then make run() return. */
    void shutdown();

    /** Requests by status, bytes out, open connections, in-flight requests. */
    void write_metrics(core::MetricWriter& writer) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace cdn::http
