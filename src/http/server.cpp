#include "http/server.h"

#include <sys/sendfile.h>
#include <sys/socket.h>

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
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/random.h"
#include "core/strings.h"
#include "http/client_address.h"
#include "http/rate_window.h"
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

using Clock = std::chrono::steady_clock;

/** A connection's socket and whether a request on it is being answered (shutdown waits for
 *  those and closes the rest). Used by its io_context's one thread only, but `busy`. */
struct Connection : std::enable_shared_from_this<Connection> {
    explicit Connection(tcp::socket socket)
        : stream(std::move(socket)), read_timer(stream.get_executor()) {}
    beast::tcp_stream stream;
    std::atomic<bool> busy{false};

    /** Cancels the pending read (or send_file's wait for room) at `deadline` without closing
     *  the socket (unlike the tcp_stream's own timeout), so that a 408 can still be written.
     *  Only on the connection's own thread. */
    void cut_read_at(Clock::time_point deadline) {
        read_cut = false;
        read_timer.expires_at(deadline);
        // The generation tells a stale expiry (already queued when re-armed) from this one.
        read_timer.async_wait([self = shared_from_this(), generation = ++read_generation](
                                  boost::system::error_code ec) {
            if (!ec && generation == self->read_generation) {
                self->read_cut = true;
                self->stream.socket().cancel(ec);
            }
        });
    }
    /** Called after each cut_read_at read: the deadline must not cancel a later write. */
    void stop_cutting() {
        ++read_generation;
        read_timer.cancel();
    }
    bool read_was_cut() const { return read_cut; }

private:
    net::steady_timer read_timer;
    std::uint64_t read_generation = 0;
    bool read_cut = false;
};

/** How long a refused body may keep arriving before the connection is closed. */
constexpr auto LINGER = 1s;

/** How a new connection counts against max_connections_per_client. */
struct ClientSlot {
    bool admitted = true;
    /** False for a trusted proxy, whose connections are not counted. */
    bool counted = false;
    ClientGroup group = 0;
};

/** Open connections per client (IPv4 address or IPv6 /64). An entry lives only while its
 *  client has connections open, so the map never holds more than max_connections entries. */
class ClientConnections {
public:
    /** Counts one more connection for `group`; false (nothing counted) at `cap`. */
    bool acquire(ClientGroup group, std::uint64_t cap) {
        std::lock_guard lock(mutex_);
        auto [it, inserted] = counts_.try_emplace(group, 0);
        if (it->second >= cap) {
            if (inserted) {
                counts_.erase(it);
            }
            return false;
        }
        ++it->second;
        return true;
    }
    void release(ClientGroup group) {
        std::lock_guard lock(mutex_);
        if (const auto it = counts_.find(group); it != counts_.end() && --it->second == 0) {
            counts_.erase(it);
        }
    }

private:
    std::mutex mutex_;
    std::unordered_map<ClientGroup, std::uint64_t> counts_;
};

void append_hex(std::string& out, std::uint64_t n) {
    char digits[16];
    char* end = digits + sizeof(digits);
    char* at = end;
    do {
        *--at = "0123456789abcdef"[n & 0xf];
        n >>= 4;
    } while (n != 0);
    out.append(at, end);
}

/** Request ids: a random per-process prefix and a counter, unique without a syscall each. */
class RequestIds {
public:
    RequestIds() : prefix_(core::random_hex(6) + "-") {}
    std::string next() {
        std::string id;
        id.reserve(prefix_.size() + 16);
        id += prefix_;
        append_hex(id, counter_.fetch_add(1, std::memory_order_relaxed));
        return id;
    }

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

void append_header(std::string& head, std::string_view name, std::string_view value) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
}

/** The status line and the server's own headers, appended without a format string: every
 *  answer pays for this. */
std::string serialize_head(const Response& res, std::string_view request_id,
                           std::string_view node_name, bool keep_alive) {
    std::string head;
    head.reserve(256 + (res.prebuilt_headers ? res.prebuilt_headers->size() : 0));
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
    head += "HTTP/1.1 ";
    head += std::to_string(res.status);
    head += ' ';
    head += std::string_view(reason.data(), reason.size());
    head += "\r\n";
    append_header(head, "Date", current_http_date());
    append_header(head, "Content-Length", std::to_string(res.body_size()));
    append_header(head, "X-Request-Id", request_id);
    append_header(head, "X-Served-By", node_name);
    if (!keep_alive) {
        head += "Connection: close\r\n";
    }
    for (const auto& [name, value] : res.headers) {
        append_header(head, name, value);
    }
    if (res.prebuilt_headers) {
        head += *res.prebuilt_headers;
    }
    head += "\r\n";
    return head;
}

using RequestParser = bhttp::request_parser<bhttp::string_body>;

/** Where a request's head ends in the connection's buffer, and when its first byte arrived. */
struct RequestHead {
    Clock::time_point started;
    std::size_t size = 0;
};

/** How writing an answer ended, and how many bytes went out. */
using WriteResult = std::tuple<boost::system::error_code, std::size_t>;

boost::system::error_code last_error() {
    return {errno, boost::system::system_category()};
}

/** What reading a request head ended with. */
enum class HeadStatus { Complete, Closed, TooSlow, TooLarge, UrlTooLong };

/** What waiting for more request bytes ended with. */
enum class ReadStatus { Data, Closed, TooSlow };

/** What reading a request body ended with. */
enum class BodyStatus { Complete, Closed, TooSlow, TooLarge, Malformed };

/** The answer to a head that did not complete (Closed gets none). */
core::Error head_error(HeadStatus status) {
    switch (status) {
    case HeadStatus::TooSlow:
        return core::make_error(core::Errc::RequestTimeout,
                                "the request header arrived too slowly");
    case HeadStatus::UrlTooLong:
        return core::make_error(core::Errc::UriTooLong, "the request URL is too long");
    default:
        return core::make_error(core::Errc::HeaderTooLarge, "the request header is too large");
    }
}

/** The answer to a body that did not complete (Closed gets none). */
core::Error body_error(BodyStatus status) {
    switch (status) {
    case BodyStatus::TooSlow:
        return core::make_error(core::Errc::RequestTimeout, "the request body arrived too slowly");
    case BodyStatus::TooLarge:
        return core::make_error(core::Errc::PayloadTooLarge, "the request body is too large");
    default:
        return core::make_error(core::Errc::BadRequest, "malformed request");
    }
}

/** The request as handlers see it, its views into `msg` (the parser's, which outlives it). */
Request make_request(const bhttp::request<bhttp::string_body>& msg) {
    Request req;
    req.method = std::string_view(msg.method_string().data(), msg.method_string().size());
    req.target = std::string_view(msg.target().data(), msg.target().size());
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    req.query = q == std::string_view::npos ? std::string_view() : req.target.substr(q + 1);
    req.version = msg.version();
    for (const auto& field : msg) {
        req.headers.push_back(
            {std::string_view(field.name_string().data(), field.name_string().size()),
             std::string_view(field.value().data(), field.value().size())});
    }
    return req;
}

bool expects_continue(const Request& req) {
    const auto expect = req.header("expect");
    return expect && core::iequals(*expect, "100-continue") && req.version >= 11;
}

constexpr std::string_view CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

/** Config load validates the list; should one still not parse, no peer is trusted. */
TrustedProxies trusted_or_none(const std::vector<std::string>& entries) {
    auto parsed = TrustedProxies::parse(entries);
    if (!parsed) {
        spdlog::error("server.trusted_proxies: {}; trusting no proxy", parsed.error().detail);
        return {};
    }
    return std::move(*parsed);
}

unsigned io_threads(const ServerConfig& config) {
    return config.threads > 0 ? config.threads : std::max(1u, std::thread::hardware_concurrency());
}

/** One io_context per I/O thread, as nginx has one event loop per worker: a connection lives
 *  on one thread, so it needs no strand, and no thread wakes another to run its handlers. */
class IoContexts {
public:
    explicit IoContexts(unsigned threads) {
        for (unsigned i = 0; i < threads; ++i) {
            contexts_.push_back(std::make_unique<net::io_context>(1));
            // Kept running while no connection is open on it yet.
            guards_.push_back(net::make_work_guard(*contexts_.back()));
        }
    }
    /** The acceptor's and the drain's context; run by the thread that calls Server::run(). */
    net::io_context& main() { return *contexts_.front(); }
    /** Where the next accepted connection lives: round robin. */
    net::io_context& next() { return *contexts_[next_++ % contexts_.size()]; }
    void run() {
        std::vector<std::thread> workers;
        for (std::size_t i = 1; i < contexts_.size(); ++i) {
            workers.emplace_back([context = contexts_[i].get()] { context->run(); });
        }
        main().run();
        for (auto& t : workers) {
            t.join();
        }
    }
    void stop() {
        for (auto& context : contexts_) {
            context->stop();
        }
    }

private:
    std::vector<std::unique_ptr<net::io_context>> contexts_;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
    std::size_t next_ = 0; // the accept loop's only
};

} // namespace

struct Server::Impl {
    Impl(const ServerConfig& c, const Router& r, AccessLog& log)
        : config(c), router(r), access_log(log), contexts(io_threads(c)), ioc(contexts.main()),
          acceptor(ioc), trusted_proxies(trusted_or_none(c.trusted_proxies)) {}

    ServerConfig config;
    const Router& router;
    AccessLog& access_log;
    IoContexts contexts;
    net::io_context& ioc;
    tcp::acceptor acceptor;
    RequestIds request_ids;
    TrustedProxies trusted_proxies;
    ClientConnections client_connections;

    std::mutex connections_mutex;
    std::list<std::weak_ptr<Connection>> connections;
    std::atomic<std::uint64_t> open_connections{0};
    std::atomic<std::uint64_t> in_flight{0};
    std::atomic<bool> draining{false};

    std::array<std::atomic<std::uint64_t>, 600> responses_by_status{};
    std::atomic<std::uint64_t> bytes_out{0};
    std::atomic<std::uint64_t> rejected_connections{0};

    net::awaitable<void> accept_loop();
    // A connection's life, top to bottom: admitted or refused, then its requests, each read
    // (head, then body), handled and answered.
    net::awaitable<void> run_session(std::shared_ptr<Connection> conn);
    ClientSlot admit_client(const std::string& address);
    std::optional<core::Error> connection_refusal(const ClientSlot& client);
    net::awaitable<void> serve_requests(Connection& conn, const std::string& peer);
    /** While a request is answered, a drain waits for it and leaves its connection open. */
    void begin_answer(Connection& conn) {
        conn.busy.store(true);
        in_flight.fetch_add(1);
    }
    void end_answer(Connection& conn) {
        in_flight.fetch_sub(1);
        conn.busy.store(false);
    }
    net::awaitable<ReadStatus> read_more(Connection& conn, beast::flat_buffer& buffer,
                                         RateWindow& rate, Clock::time_point phase_end);
    net::awaitable<HeadStatus> read_head(Connection& conn, beast::flat_buffer& buffer,
                                         bool first_request, RequestHead& head);
    std::optional<HeadStatus> scan_head(const beast::flat_buffer& buffer,
                                        std::size_t& head_size) const;
    std::optional<core::Error> parse_head(HeadStatus status, std::size_t head_size,
                                          beast::flat_buffer& buffer, RequestParser& parser) const;
    Request describe_request(const bhttp::request<bhttp::string_body>& msg,
                             const std::string& remote_address);
    net::awaitable<bool> receive_body(Connection& conn, beast::flat_buffer& buffer,
                                      RequestParser& parser, Request& req, const Route* route);
    std::optional<core::Error> limit_body(RequestParser& parser,
                                          const core::Result<std::uint64_t>& limit) const;
    net::awaitable<BodyStatus> read_body(Connection& conn, beast::flat_buffer& buffer,
                                         RequestParser& parser);
    net::awaitable<bool> answer(Connection& conn, const Request* req, Response res,
                                bool keep_alive, std::chrono::steady_clock::time_point started);
    net::awaitable<WriteResult> write_buffers(Connection& conn,
                                              const std::array<net::const_buffer, 2>& buffers);
    net::awaitable<WriteResult> send_with_file(Connection& conn, std::string_view head,
                                               const FileBody& file);
    net::awaitable<boost::system::error_code> send_file(Connection& conn, const FileBody& file,
                                                        Clock::time_point deadline);
    net::awaitable<void> answer_error_and_close(Connection& conn, const core::Error& error,
                                                const Request* req = nullptr,
                                                bool body_unread = false);
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
    if (impl_->config.node_name.empty()) {
        impl_->config.node_name =
            fmt::format("{}:{}", boost::asio::ip::host_name(ec), this->port());
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
    impl_->contexts.run();
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
        contexts.stop();
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
        auto [ec, socket] = co_await acceptor.async_accept(contexts.next(), use_nothrow);
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
        socket.non_blocking(true, ec); // answers are written at once when they fit (write_buffers)
        auto conn = std::make_shared<Connection>(std::move(socket));
        auto executor = conn->stream.get_executor();
        net::co_spawn(executor, run_session(std::move(conn)), [](std::exception_ptr e) {
            if (e) {
                spdlog::error("connection ended by an exception");
            }
        });
    }
}

ClientSlot Server::Impl::admit_client(const std::string& address) {
    if (address.empty() || trusted_proxies.contains(address)) {
        return {};
    }
    const auto group = client_group(address);
    return {.admitted = client_connections.acquire(group, config.max_connections_per_client),
            .counted = true,
            .group = group};
}

net::awaitable<ReadStatus> Server::Impl::read_more(Connection& conn, beast::flat_buffer& buffer,
                                                   RateWindow& rate,
                                                   Clock::time_point phase_end) {
    conn.cut_read_at(rate.deadline(phase_end));
    auto [ec, n] =
        co_await conn.stream.socket().async_read_some(buffer.prepare(READ_CHUNK), use_nothrow);
    const bool cut = conn.read_was_cut();
    conn.stop_cutting();
    if (cut) {
        co_return ReadStatus::TooSlow;
    }
    if (ec) {
        co_return ReadStatus::Closed;
    }
    buffer.commit(n);
    co_return rate.add(n, Clock::now()) ? ReadStatus::Data : ReadStatus::TooSlow;
}

net::awaitable<HeadStatus> Server::Impl::read_head(Connection& conn, beast::flat_buffer& buffer,
                                                   bool first_request, RequestHead& head) {
    if (buffer.size() == 0) {
        // A new connection gets first_byte_timeout_ms to start; a kept-alive one may idle.
        conn.stream.expires_after(std::chrono::milliseconds(
            first_request ? config.first_byte_timeout_ms : config.idle_timeout_ms));
        auto [ec, n] =
            co_await conn.stream.async_read_some(buffer.prepare(READ_CHUNK), use_nothrow);
        conn.stream.expires_never();
        if (ec) {
            co_return HeadStatus::Closed;
        }
        buffer.commit(n);
    }
    // The request's clock (header timeout, rate, access-log duration) starts at its first byte.
    head.started = Clock::now();
    RateWindow rate(config.min_bytes_per_second, head.started);
    rate.add(buffer.size(), head.started);
    const auto phase_end = head.started + std::chrono::milliseconds(config.header_timeout_ms);
    for (;;) {
        if (const auto status = scan_head(buffer, head.size)) {
            co_return *status;
        }
        switch (co_await read_more(conn, buffer, rate, phase_end)) {
        case ReadStatus::Data:
            break;
        case ReadStatus::Closed:
            co_return HeadStatus::Closed;
        case ReadStatus::TooSlow:
            co_return HeadStatus::TooSlow;
        }
    }
}

std::optional<HeadStatus> Server::Impl::scan_head(const beast::flat_buffer& buffer,
                                                  std::size_t& head_size) const {
    const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
    if (const auto end = data.find("\r\n\r\n"); end != std::string_view::npos) {
        head_size = end + 4;
        return HeadStatus::Complete;
    }
    // No end of the request line yet: the URL alone is over its limit (414, not 431).
    if (data.find("\r\n") == std::string_view::npos && data.size() > config.max_url_bytes + 64) {
        return HeadStatus::UrlTooLong;
    }
    if (data.size() > config.max_header_bytes) {
        return HeadStatus::TooLarge;
    }
    return std::nullopt;
}

std::optional<core::Error> Server::Impl::parse_head(HeadStatus status, std::size_t head_size,
                                                    beast::flat_buffer& buffer,
                                                    RequestParser& parser) const {
    if (status != HeadStatus::Complete) {
        return head_error(status);
    }
    const std::string_view head(static_cast<const char*>(buffer.data().data()), head_size);
    if (auto error = check_request_head(head, config.max_url_bytes)) {
        return error;
    }
    // The head alone first: the route decides how much body it takes before any is read.
    parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::error_code ec;
    buffer.consume(parser.put(net::buffer(head), ec));
    if (ec || !parser.is_header_done()) {
        return core::make_error(core::Errc::BadRequest, "malformed request");
    }
    return std::nullopt;
}

Request Server::Impl::describe_request(const bhttp::request<bhttp::string_body>& msg,
                                       const std::string& remote_address) {
    Request req = make_request(msg);
    req.remote_address = remote_address;
    req.client_address = trusted_proxies.client_address(req);
    // The client's own id is kept (to follow a request across hops) when it is harmless to log.
    const auto client_id = req.header("x-request-id");
    req.request_id = client_id && sane_request_id(*client_id) ? std::string(*client_id)
                                                              : request_ids.next();
    return req;
}

std::optional<core::Error>
Server::Impl::limit_body(RequestParser& parser, const core::Result<std::uint64_t>& limit) const {
    if (!limit) {
        return limit.error();
    }
    const auto most = std::min(*limit, config.max_body_bytes);
    if (const auto declared = parser.content_length(); declared && *declared > most) {
        return core::make_error(
            core::Errc::PayloadTooLarge,
            fmt::format("the request body is too large: this request takes at most {} bytes",
                        most));
    }
    parser.body_limit(most);
    return std::nullopt;
}

net::awaitable<bool> Server::Impl::receive_body(Connection& conn, beast::flat_buffer& buffer,
                                                RequestParser& parser, Request& req,
                                                const Route* route) {
    // The route's limit is asked for only when a body is announced (it may authenticate).
    std::optional<core::Error> refused;
    if (parser.chunked() || parser.content_length().value_or(0) > 0) {
        if (route == nullptr || !route->body_limit) {
            refused = core::make_error(core::Errc::BadRequest, "this request takes no body");
        } else {
            const auto limit = co_await route->body_limit(req);
            refused = limit_body(parser, limit);
        }
        // Only now is the client told to send the body it announced with Expect: 100-continue.
        if (!refused && expects_continue(req)) {
            conn.stream.expires_after(std::chrono::milliseconds(config.body_timeout_ms));
            co_await net::async_write(conn.stream, net::buffer(CONTINUE), use_nothrow);
            conn.stream.expires_never();
        }
    }
    if (refused) {
        co_await answer_error_and_close(conn, *refused, &req, true);
        co_return false;
    }
    const auto status = co_await read_body(conn, buffer, parser);
    if (status == BodyStatus::Complete) {
        req.body = parser.get().body();
        co_return true;
    }
    if (status != BodyStatus::Closed) {
        co_await answer_error_and_close(conn, body_error(status), &req,
                                        status == BodyStatus::TooLarge);
    }
    co_return false;
}

net::awaitable<BodyStatus> Server::Impl::read_body(Connection& conn, beast::flat_buffer& buffer,
                                                   RequestParser& parser) {
    const auto started = Clock::now();
    const auto phase_end = started + std::chrono::milliseconds(config.body_timeout_ms);
    RateWindow rate(config.min_bytes_per_second, started);
    rate.add(buffer.size(), started);
    parser.eager(true);
    while (!parser.is_done()) {
        if (buffer.size() > 0) {
            beast::error_code ec;
            const auto used = parser.put(buffer.data(), ec);
            buffer.consume(used);
            if (ec == bhttp::error::body_limit) {
                co_return BodyStatus::TooLarge;
            }
            if (ec && ec != bhttp::error::need_more) {
                co_return BodyStatus::Malformed;
            }
            if (used > 0 || parser.is_done()) {
                continue;
            }
        }
        switch (co_await read_more(conn, buffer, rate, phase_end)) {
        case ReadStatus::Data:
            break;
        case ReadStatus::Closed:
            co_return BodyStatus::Closed;
        case ReadStatus::TooSlow:
            co_return BodyStatus::TooSlow;
        }
    }
    co_return BodyStatus::Complete;
}

std::optional<core::Error> Server::Impl::connection_refusal(const ClientSlot& client) {
    if (open_connections.load() > config.max_connections) {
        rejected_connections.fetch_add(1);
        return core::make_error(core::Errc::Unavailable, "too many connections");
    }
    if (!client.admitted) {
        rejected_connections.fetch_add(1);
        return core::make_error(core::Errc::TooManyConnections,
                                "too many connections from this address");
    }
    return std::nullopt;
}

net::awaitable<void> Server::Impl::run_session(std::shared_ptr<Connection> conn) {
    open_connections.fetch_add(1);
    const auto tracked = track(conn);
    boost::system::error_code ec;
    const auto remote = conn->stream.socket().remote_endpoint(ec);
    const auto remote_address = ec ? std::string() : remote.address().to_string();
    const auto client = admit_client(remote_address);
    if (auto refused = connection_refusal(client)) {
        co_await answer_error_and_close(*conn, *refused);
    }
    // The requests in their own coroutine: one frame more per connection, none per request.
    co_await serve_requests(*conn, remote_address);
    conn->stream.socket().close(ec);
    if (client.admitted && client.counted) {
        client_connections.release(client.group);
    }
    untrack(tracked);
    open_connections.fetch_sub(1);
}

net::awaitable<void> Server::Impl::serve_requests(Connection& conn, const std::string& peer) {
    beast::flat_buffer buffer;
    for (bool first = true; conn.stream.socket().is_open() && !draining.load(); first = false) {
        RequestHead head;
        const auto head_status = co_await read_head(conn, buffer, first, head);
        if (head_status == HeadStatus::Closed) {
            co_return;
        }
        RequestParser parser;
        if (auto error = parse_head(head_status, head.size, buffer, parser)) {
            co_await answer_error_and_close(conn, *error);
            co_return;
        }
        Request req = describe_request(parser.get(), peer);
        const auto* route = router.match(req.path);
        if (!parser.is_done() && !co_await receive_body(conn, buffer, parser, req, route)) {
            co_return;
        }
        begin_answer(conn);
        Response res;
        if (route == nullptr) {
            res = Response::error(core::make_error(core::Errc::NotFound, "no such route"));
        } else {
            try {
                res = co_await route->handler(req);
            } catch (const std::exception& e) {
                spdlog::error("handler threw for {}: {}", req.path, e.what());
                res = Response::error(core::make_error(core::Errc::Internal, "internal error"));
            }
        }
        // Read after the handler: a drain that began meanwhile closes this connection.
        const bool keep_alive = parser.get().keep_alive() && !draining.load();
        const bool ok = co_await answer(conn, &req, std::move(res), keep_alive, head.started);
        end_answer(conn);
        if (!ok || !keep_alive) {
            co_return;
        }
    }
}

net::awaitable<bool> Server::Impl::answer(Connection& conn, const Request* req, Response res,
                                          bool keep_alive,
                                          std::chrono::steady_clock::time_point started) {
    const std::string_view request_id = req ? std::string_view(req->request_id) : "-";
    const auto head = serialize_head(res, request_id, config.node_name, keep_alive);
    const bool send_body = res.has_body() && !(req && req->is_head());
    WriteResult sent;
    if (send_body && res.file_body) {
        sent = co_await send_with_file(conn, head, *res.file_body);
    } else {
        std::array<net::const_buffer, 2> buffers{
            net::buffer(head), send_body ? net::buffer(*res.body) : net::const_buffer()};
        sent = co_await write_buffers(conn, buffers);
    }
    const auto [ec, written] = sent;

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
    if (ec || !keep_alive) {
        // The connection ends here (after the log line, which a client seeing EOF may expect).
        boost::system::error_code shutdown_ec;
        conn.stream.socket().shutdown(tcp::socket::shutdown_send, shutdown_ec);
    }
    co_return !ec;
}

net::awaitable<WriteResult>
Server::Impl::write_buffers(Connection& conn, const std::array<net::const_buffer, 2>& buffers) {
    // Most answers fit the socket's send buffer: one writev on the non-blocking socket, with no
    // timer to arm and no reactor round trip. Only what did not fit waits, under the timeout.
    boost::system::error_code ec;
    auto written = conn.stream.socket().write_some(buffers, ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
        ec = {};
    }
    if (ec || written == net::buffer_size(buffers)) {
        co_return std::tuple{ec, written};
    }
    beast::buffers_suffix<std::array<net::const_buffer, 2>> rest(buffers);
    rest.consume(written);
    conn.stream.expires_after(std::chrono::milliseconds(config.body_timeout_ms));
    auto [write_ec, more] = co_await net::async_write(conn.stream, rest, use_nothrow);
    conn.stream.expires_never();
    co_return std::tuple{write_ec, written + more};
}

net::awaitable<WriteResult> Server::Impl::send_with_file(Connection& conn, std::string_view head,
                                                         const FileBody& file) {
    // MSG_MORE: the head waits for the file's first bytes and leaves in the same segment (what
    // nginx's tcp_nopush does), not in a small one of its own.
    const auto sent = ::send(conn.stream.socket().native_handle(), head.data(), head.size(),
                             MSG_MORE | MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        co_return WriteResult{last_error(), 0};
    }
    const auto head_sent = static_cast<std::size_t>(std::max<ssize_t>(sent, 0));
    if (head_sent < head.size()) {
        const std::array<net::const_buffer, 2> rest{net::buffer(head.substr(head_sent)),
                                                     net::const_buffer()};
        auto [ec, n] = co_await write_buffers(conn, rest);
        if (ec) {
            co_return WriteResult{ec, head_sent + n};
        }
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(config.body_timeout_ms);
    const auto ec = co_await send_file(conn, file, deadline);
    co_return WriteResult{ec, head.size() + (ec ? 0 : file.size)};
}

net::awaitable<boost::system::error_code>
Server::Impl::send_file(Connection& conn, const FileBody& file, Clock::time_point deadline) {
    auto& socket = conn.stream.socket();
    auto offset = static_cast<off_t>(file.offset);
    const auto end = static_cast<off_t>(file.offset + file.size);
    while (offset < end) {
        const auto n = ::sendfile(socket.native_handle(), file.fd, &offset,
                                  static_cast<std::size_t>(end - offset));
        if (n > 0 || (n < 0 && errno == EINTR)) {
            continue;
        }
        if (n == 0) { // the file is shorter than its header said: never send fewer bytes quietly
            co_return make_error_code(net::error::eof);
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            co_return last_error();
        }
        // The socket's buffer is full: wait until it drains, at most until the deadline.
        conn.cut_read_at(deadline);
        auto [ec] = co_await socket.async_wait(tcp::socket::wait_write, use_nothrow);
        const bool cut = conn.read_was_cut();
        conn.stop_cutting();
        if (cut || ec) {
            co_return cut ? make_error_code(net::error::timed_out) : ec;
        }
    }
    co_return boost::system::error_code{};
}

net::awaitable<void> Server::Impl::answer_error_and_close(Connection& conn,
                                                          const core::Error& error,
                                                          const Request* req, bool body_unread) {
    // A named argument: GCC 12 destroys a temporary passed to a by-value coroutine parameter twice.
    auto response = Response::error(error);
    co_await answer(conn, req, std::move(response), false, std::chrono::steady_clock::now());
    if (body_unread) {
        // A client that sends its body anyway would get a reset, which can destroy our answer
        // before it reads it: discard what arrives for a moment (bounded in time) first.
        std::array<char, READ_CHUNK> sink;
        const auto until = Clock::now() + LINGER;
        for (auto now = Clock::now(); now < until; now = Clock::now()) {
            conn.stream.expires_at(until);
            auto [rec, n] = co_await conn.stream.async_read_some(net::buffer(sink), use_nothrow);
            if (rec) {
                break;
            }
        }
    }
    boost::system::error_code ec;
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
                  "Connections refused over max_connections or max_connections_per_client.");
    writer.sample("imagecdn_http_rejected_connections_total", "",
                  static_cast<double>(impl_->rejected_connections.load()));
}

} // namespace cdn::http
