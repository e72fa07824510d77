#include "http/server.h"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <list>
#include <mutex>
#include <thread>

#include "core/random.h"
#include "core/strings.h"
#include "http/client_address.h"
#include "http/request_guard.h"

namespace cdn::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);
constexpr std::size_t READ_CHUNK = 8192;

/** A connection's socket and whether a request on it is being answered (shutdown waits for
 *  those and closes the rest). */
struct Connection {
    explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
    beast::tcp_stream stream;
    std::atomic<bool> busy{false};
};

/** Request ids: a random per-process prefix and a counter, unique without a syscall each. */
class RequestIds {
public:
    RequestIds() : prefix_(core::random_hex(6)) {}
    std::string next() { return fmt::format("{}-{:x}", prefix_, counter_.fetch_add(1)); }

private:
    std::string prefix_;
    std::atomic<std::uint64_t> counter_{1};
};

bool sane_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) {
        return false;
    }
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/** The Date header changes once a second; each thread formats it at most once a second. */
const std::string& current_http_date() {
    thread_local std::int64_t second = 0;
    thread_local std::string value;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (now != second) {
        second = now;
        value = core::http_date(now);
    }
    return value;
}

std::string serialize_head(const Response& res, std::string_view request_id, bool keep_alive) {
    std::string head;
    head.reserve(256 + (res.prebuilt_headers ? res.prebuilt_headers->size() : 0));
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
    head += fmt::format("HTTP/1.1 {} {}\r\nDate: {}\r\nContent-Length: {}\r\nX-Request-Id: {}\r\n",
                        res.status, std::string_view(reason.data(), reason.size()),
                        current_http_date(), res.body_size(), request_id);
    if (!keep_alive) {
        head += "Connection: close\r\n";
    }
    for (const auto& [name, value] : res.headers) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    if (res.prebuilt_headers) {
        head += *res.prebuilt_headers;
    }
    head += "\r\n";
    return head;
}

/** What reading a request head ended with. */
enum class HeadStatus { Complete, Closed, TooLarge, UrlTooLong };

/** Config load validates the list; should one still not parse, no peer is trusted. */
TrustedProxies trusted_or_none(const std::vector<std::string>& entries) {
    auto parsed = TrustedProxies::parse(entries);
    if (!parsed) {
        spdlog::error("server.trusted_proxies: {}; trusting no proxy", parsed.error().detail);
        return {};
    }
    return std::move(*parsed);
}

} // namespace

struct Server::Impl {
    Impl(const ServerConfig& c, const Router& r, AccessLog& log)
        : config(c), router(r), access_log(log), acceptor(ioc),
          trusted_proxies(trusted_or_none(c.trusted_proxies)) {}

    ServerConfig config;
    const Router& router;
    AccessLog& access_log;
    net::io_context ioc;
    tcp::acceptor acceptor;
    RequestIds request_ids;
    TrustedProxies trusted_proxies;

    std::mutex connections_mutex;
    std::list<std::weak_ptr<Connection>> connections;
    std::atomic<std::uint64_t> open_connections{0};
    std::atomic<std::uint64_t> in_flight{0};
    std::atomic<bool> draining{false};

    std::array<std::atomic<std::uint64_t>, 600> responses_by_status{};
    std::atomic<std::uint64_t> bytes_out{0};
    std::atomic<std::uint64_t> rejected_connections{0};

    net::awaitable<void> accept_loop();
    net::awaitable<void> run_session(std::shared_ptr<Connection> conn);
    net::awaitable<HeadStatus> read_head(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                         std::size_t& head_size);
    net::awaitable<bool> answer(Connection& conn, const Request* req, Response res,
                                bool keep_alive, std::chrono::steady_clock::time_point started);
    net::awaitable<void> answer_error_and_close(Connection& conn, const core::Error& error);
    std::list<std::weak_ptr<Connection>>::iterator track(const std::shared_ptr<Connection>& conn);
    void untrack(std::list<std::weak_ptr<Connection>>::iterator it);
    void close_idle_connections();
    void finish_drain(std::shared_ptr<net::steady_timer> timer,
                      std::chrono::steady_clock::time_point deadline);
};

Server::Server(const ServerConfig& config, const Router& router, AccessLog& access_log)
    : impl_(std::make_unique<Impl>(config, router, access_log)) {}

Server::~Server() = default;

core::Result<void> Server::listen() {
    const auto& listen = impl_->config.listen;
    const auto colon = listen.rfind(':');
    const auto port = colon == std::string::npos ? std::nullopt
                                                 : core::parse_int(listen.substr(colon + 1));
    if (!port || *port < 0 || *port > 65535) {
        return core::make_error(core::Errc::BadRequest, "invalid listen address: " + listen);
    }
    boost::system::error_code ec;
    auto host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    const auto address = net::ip::make_address(host, ec);
    if (ec) {
        return core::make_error(core::Errc::BadRequest, "invalid listen address: " + listen);
    }
    const tcp::endpoint endpoint(address, static_cast<std::uint16_t>(*port));
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor.set_option(net::socket_base::reuse_address(true), ec);
        acceptor.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return core::make_error(core::Errc::Unavailable,
                                fmt::format("cannot listen on {}: {}", listen, ec.message()));
    }
    return {};
}

std::uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::run() {
    net::co_spawn(impl_->ioc, impl_->accept_loop(), [](std::exception_ptr e) {
        if (e) {
            spdlog::critical("accept loop ended by an exception");
        }
    });
    unsigned threads = impl_->config.threads;
    if (threads == 0) {
        threads = std::max(1u, std::thread::hardware_concurrency());
    }
    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i) {
        workers.emplace_back([this] { impl_->ioc.run(); });
    }
    impl_->ioc.run();
    for (auto& t : workers) {
        t.join();
    }
}

void Server::shutdown() {
    net::post(impl_->ioc, [impl = impl_.get()] {
        if (impl->draining.exchange(true)) {
            return;
        }
        boost::system::error_code ec;
        impl->acceptor.close(ec);
        impl->close_idle_connections();
        auto timer = std::make_shared<net::steady_timer>(impl->ioc);
        impl->finish_drain(timer, std::chrono::steady_clock::now() +
                                      std::chrono::milliseconds(impl->config.drain_timeout_ms));
    });
}

void Server::Impl::finish_drain(std::shared_ptr<net::steady_timer> timer,
                                std::chrono::steady_clock::time_point deadline) {
    if (in_flight.load() == 0 || std::chrono::steady_clock::now() >= deadline) {
        if (in_flight.load() != 0) {
            spdlog::warn("drain timeout: {} requests still in flight", in_flight.load());
        }
        ioc.stop();
        return;
    }
    close_idle_connections();
    timer->expires_after(20ms);
    timer->async_wait([this, timer, deadline](boost::system::error_code) {
        finish_drain(timer, deadline);
    });
}

void Server::Impl::close_idle_connections() {
    std::lock_guard lock(connections_mutex);
    for (const auto& weak : connections) {
        if (auto conn = weak.lock()) {
            net::post(conn->stream.get_executor(), [conn] {
                if (!conn->busy.load()) {
                    conn->stream.socket().close();
                }
            });
        }
    }
}

std::list<std::weak_ptr<Connection>>::iterator
Server::Impl::track(const std::shared_ptr<Connection>& conn) {
    std::lock_guard lock(connections_mutex);
    return connections.insert(connections.end(), conn);
}

void Server::Impl::untrack(std::list<std::weak_ptr<Connection>>::iterator it) {
    std::lock_guard lock(connections_mutex);
    connections.erase(it);
}

net::awaitable<void> Server::Impl::accept_loop() {
    while (acceptor.is_open()) {
        auto [ec, socket] = co_await acceptor.async_accept(net::make_strand(ioc), use_nothrow);
        if (ec) {
            if (ec == net::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            // Out of file descriptors and the like: back off instead of spinning.
            net::steady_timer pause(ioc, 50ms);
            co_await pause.async_wait(use_nothrow);
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        auto conn = std::make_shared<Connection>(std::move(socket));
        auto executor = conn->stream.get_executor();
        net::co_spawn(executor, run_session(std::move(conn)), [](std::exception_ptr e) {
            if (e) {
                spdlog::error("connection ended by an exception");
            }
        });
    }
}

net::awaitable<HeadStatus> Server::Impl::read_head(beast::tcp_stream& stream,
                                                   beast::flat_buffer& buffer,
                                                   std::size_t& head_size) {
    for (;;) {
        const std::string_view data(static_cast<const char*>(buffer.data().data()),
                                    buffer.size());
        if (const auto end = data.find("\r\n\r\n"); end != std::string_view::npos) {
            head_size = end + 4;
            co_return HeadStatus::Complete;
        }
        if (data.find("\r\n") == std::string_view::npos &&
            data.size() > config.max_url_bytes + 64) {
            co_return HeadStatus::UrlTooLong;
        }
        if (data.size() > config.max_header_bytes) {
            co_return HeadStatus::TooLarge;
        }
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(READ_CHUNK), use_nothrow);
        if (ec) {
            co_return HeadStatus::Closed;
        }
        buffer.commit(n);
    }
}

net::awaitable<void> Server::Impl::run_session(std::shared_ptr<Connection> conn) {
    open_connections.fetch_add(1);
    const auto tracked = track(conn);
    auto& stream = conn->stream;
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    const auto remote = stream.socket().remote_endpoint(ec);
    const auto remote_address = ec ? std::string() : remote.address().to_string();

    if (open_connections.load() > config.max_connections) {
        rejected_connections.fetch_add(1);
        co_await answer_error_and_close(
            *conn, core::make_error(core::Errc::Unavailable, "too many connections"));
    }
    while (stream.socket().is_open() && !draining.load()) {
        if (buffer.size() == 0) {
            stream.expires_after(std::chrono::milliseconds(config.idle_timeout_ms));
            auto [rec, n] = co_await stream.async_read_some(buffer.prepare(READ_CHUNK), use_nothrow);
            if (rec) {
                break;
            }
            buffer.commit(n);
        }
        const auto started = std::chrono::steady_clock::now();
        stream.expires_after(std::chrono::milliseconds(config.header_timeout_ms));
        std::size_t head_size = 0;
        const auto head_status = co_await read_head(stream, buffer, head_size);
        if (head_status == HeadStatus::Closed) {
            break;
        }
        if (head_status != HeadStatus::Complete) {
            co_await answer_error_and_close(
                *conn, head_status == HeadStatus::UrlTooLong
                           ? core::make_error(core::Errc::UriTooLong, "the request URL is too long")
                           : core::make_error(core::Errc::HeaderTooLarge,
                                              "the request header is too large"));
            break;
        }
        const std::string_view head(static_cast<const char*>(buffer.data().data()), head_size);
        if (auto error = check_request_head(head, config.max_url_bytes)) {
            co_await answer_error_and_close(*conn, *error);
            break;
        }

        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
        parser.body_limit(config.max_body_bytes);
        stream.expires_after(std::chrono::milliseconds(config.body_timeout_ms));
        auto [pec, consumed] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
        if (pec) {
            if (pec == bhttp::error::body_limit) {
                co_await answer_error_and_close(
                    *conn, core::make_error(core::Errc::PayloadTooLarge,
                                            "the request body is too large"));
            } else if (pec != beast::error::timeout && pec != net::error::eof &&
                       pec != bhttp::error::end_of_stream && pec != net::error::operation_aborted) {
                co_await answer_error_and_close(
                    *conn, core::make_error(core::Errc::BadRequest, "malformed request"));
            }
            break;
        }

        conn->busy.store(true);
        in_flight.fetch_add(1);
        auto& msg = parser.get();
        Request req;
        req.method = std::string_view(msg.method_string().data(), msg.method_string().size());
        req.target = std::string_view(msg.target().data(), msg.target().size());
        const auto q = req.target.find('?');
        req.path = req.target.substr(0, q);
        req.query = q == std::string_view::npos ? std::string_view() : req.target.substr(q + 1);
        req.version = msg.version();
        for (const auto& field : msg) {
            req.headers.push_back({std::string_view(field.name_string().data(), field.name_string().size()),
                                   std::string_view(field.value().data(), field.value().size())});
        }
        req.body = msg.body();
        req.remote_address = remote_address;
        req.client_address = trusted_proxies.client_address(req);
        const auto client_id = req.header("x-request-id");
        req.request_id = client_id && sane_request_id(*client_id) ? std::string(*client_id)
                                                                  : request_ids.next();

        Response res;
        const auto* handler = router.match(req.path);
        if (handler == nullptr) {
            res = Response::error(core::make_error(core::Errc::NotFound, "no such route"));
        } else {
            try {
                res = co_await (*handler)(req);
            } catch (const std::exception& e) {
                spdlog::error("handler threw for {}: {}", req.path, e.what());
                res = Response::error(core::make_error(core::Errc::Internal, "internal error"));
            }
        }
        const bool keep_alive = msg.keep_alive() && !draining.load();
        const bool ok = co_await answer(*conn, &req, std::move(res), keep_alive, started);
        in_flight.fetch_sub(1);
        conn->busy.store(false);
        if (!ok || !keep_alive) {
            stream.socket().shutdown(tcp::socket::shutdown_send, ec);
            break;
        }
    }
    stream.socket().close(ec);
    untrack(tracked);
    open_connections.fetch_sub(1);
}

net::awaitable<bool> Server::Impl::answer(Connection& conn, const Request* req, Response res,
                                          bool keep_alive,
                                          std::chrono::steady_clock::time_point started) {
    const std::string_view request_id = req ? std::string_view(req->request_id) : "-";
    const auto head = serialize_head(res, request_id, keep_alive);
    const bool send_body = res.body && !(req && req->is_head());
    std::array<net::const_buffer, 2> buffers{
        net::buffer(head), send_body ? net::buffer(*res.body) : net::const_buffer()};
    conn.stream.expires_after(std::chrono::milliseconds(config.body_timeout_ms));
    auto [ec, written] = co_await net::async_write(conn.stream, buffers, use_nothrow);
    conn.stream.expires_never();

    responses_by_status[std::min<unsigned>(res.status, 599)].fetch_add(1, std::memory_order_relaxed);
    bytes_out.fetch_add(written, std::memory_order_relaxed);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    access_log.write(AccessLogEntry{
        .unix_millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count(),
        .method = req ? req->method : "-",
        .path = req ? req->path : "-",
        .status = res.status,
        .bytes = written,
        .duration_ms = std::chrono::duration<double, std::milli>(elapsed).count(),
        .cache_status = res.cache_status,
        .customer = res.customer,
        .request_id = request_id,
    });
    co_return !ec;
}

net::awaitable<void> Server::Impl::answer_error_and_close(Connection& conn,
                                                          const core::Error& error) {
    // A named argument: GCC 12 destroys a temporary passed to a by-value coroutine parameter twice.
    auto response = Response::error(error);
    co_await answer(conn, nullptr, std::move(response), false, std::chrono::steady_clock::now());
    boost::system::error_code ec;
    conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    conn.stream.socket().close(ec);
}

void Server::write_metrics(core::MetricWriter& writer) const {
    writer.family("imagecdn_http_responses_total", "counter", "HTTP responses by status code.");
    for (unsigned status = 100; status < impl_->responses_by_status.size(); ++status) {
        const auto n = impl_->responses_by_status[status].load(std::memory_order_relaxed);
        if (n > 0) {
            writer.sample("imagecdn_http_responses_total", fmt::format("status=\"{}\"", status),
                          static_cast<double>(n));
        }
    }
    writer.family("imagecdn_http_bytes_out_total", "counter", "Bytes written to clients.");
    writer.sample("imagecdn_http_bytes_out_total", "", static_cast<double>(impl_->bytes_out.load()));
    writer.family("imagecdn_http_in_flight_requests", "gauge", "Requests being answered.");
    writer.sample("imagecdn_http_in_flight_requests", "", static_cast<double>(impl_->in_flight.load()));
    writer.family("imagecdn_http_open_connections", "gauge", "Open client connections.");
    writer.sample("imagecdn_http_open_connections", "",
                  static_cast<double>(impl_->open_connections.load()));
    writer.family("imagecdn_http_rejected_connections_total", "counter",
                  "Connections refused over max_connections.");
    writer.sample("imagecdn_http_rejected_connections_total", "",
                  static_cast<double>(impl_->rejected_connections.load()));
}

} // namespace cdn::http
