// Issue 13 item 4, as an attacker would try it: many idle connections from one address, silent
// and slow-drip connections, and large announced bodies, against the real binary. Each test
// shows the defence: the cap, the first-byte timeout, the minimum rate, the per-route body
// limit decided before the body is read.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <future>
#include <memory>
#include <thread>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/** The test opens hundreds of sockets: the soft fd limit goes up to the hard one. */
void raise_own_fd_limit() {
    rlimit limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
}

/** The resident memory of a process, in KB (VmRSS of /proc/<pid>/status). */
long rss_kb(pid_t pid) {
    const auto status = read_file("/proc/" + std::to_string(pid) + "/status");
    const auto at = status.find("VmRSS:");
    return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

/** Sends `bytes` one per second until the server answers; that answer, if any. */
std::optional<RawResponse> drip(RawConnection& conn, const std::string& bytes) {
    for (const char c : bytes) {
        if (!conn.send(std::string_view(&c, 1))) {
            break;
        }
        if (auto res = conn.read_response(false, 1s)) {
            return res;
        }
    }
    return conn.read_response(false, 1s);
}

TEST(Connections, OneAddressIsCappedAtTheDefaultWhileAnotherIsServed) {
    raise_own_fd_limit();
    TempDir dir;
    // Idle connections are kept for the test's length: only the cap may close them.
    ServerProcess server(dir.path(), {{"IMAGECDN_SERVER_FIRST_BYTE_TIMEOUT_MS", "120000"}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    constexpr int ATTACK = 300;
    constexpr int CAP = 256; // the default max_connections_per_client
    std::vector<std::unique_ptr<RawConnection>> conns;
    for (int i = 0; i < ATTACK; ++i) {
        conns.push_back(std::make_unique<RawConnection>(server.port(), "127.0.0.1"));
        ASSERT_TRUE(conns.back()->connected()) << i;
    }
    // The connections over the cap are answered 503 and closed; the others stay open.
    std::vector<bool> refused(ATTACK, false);
    int refused_count = 0;
    const auto deadline = Clock::now() + 30s;
    while (refused_count < ATTACK - CAP && Clock::now() < deadline) {
        for (int i = 0; i < ATTACK; ++i) {
            if (refused[i]) {
                continue;
            }
            // (A few ms: read_response gives up at once when less than 1 ms remains.)
            if (auto res = conns[i]->read_response(false, 3ms)) {
                EXPECT_EQ(res->status, 503);
                EXPECT_EQ(error_code(*res), "too_many_connections");
                EXPECT_EQ(res->header("connection"), "close");
                refused[i] = true;
                ++refused_count;
            }
        }
    }
    EXPECT_EQ(refused_count, ATTACK - CAP);

    // Another address is served meanwhile.
    RawConnection other(server.port(), "127.0.0.2");
    ASSERT_TRUE(other.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto served = other.read_response();
    ASSERT_TRUE(served);
    EXPECT_EQ(served->status, 200);

    // Every held connection is still open; none was refused late.
    for (int i = 0; i < ATTACK; ++i) {
        if (!refused[i]) {
            EXPECT_FALSE(conns[i]->closed_by_peer(0ms)) << i;
        }
    }
    // A held connection that closes gives its place back.
    for (int i = 0; i < ATTACK; ++i) {
        if (!refused[i]) {
            conns[i].reset();
            break;
        }
    }
    bool admitted = false;
    for (const auto until = Clock::now() + 10s; !admitted && Clock::now() < until;) {
        RawConnection again(server.port(), "127.0.0.1");
        ASSERT_TRUE(again.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        const auto res = again.read_response();
        admitted = res && res->status == 200;
    }
    EXPECT_TRUE(admitted);
}

TEST(Connections, TrustedProxyIsNotCapped) {
    TempDir dir;
    ServerProcess server(dir.path(), {{"IMAGECDN_SERVER_MAX_CONNECTIONS_PER_CLIENT", "2"},
                                      {"IMAGECDN_SERVER_FIRST_BYTE_TIMEOUT_MS", "60000"},
                                      {"IMAGECDN_SERVER_TRUSTED_PROXIES", "127.0.0.3/32"}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    std::vector<std::unique_ptr<RawConnection>> held;
    for (int i = 0; i < 5; ++i) {
        held.push_back(std::make_unique<RawConnection>(server.port(), "127.0.0.3"));
    }
    for (auto& conn : held) {
        ASSERT_TRUE(conn->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        const auto res = conn->read_response();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 200);
    }
    // The same number from an untrusted address: the third is refused.
    std::vector<std::unique_ptr<RawConnection>> capped;
    for (int i = 0; i < 3; ++i) {
        capped.push_back(std::make_unique<RawConnection>(server.port(), "127.0.0.4"));
    }
    int refused = 0;
    for (auto& conn : capped) {
        ASSERT_TRUE(conn->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        const auto res = conn->read_response();
        ASSERT_TRUE(res);
        refused += res->status == 503 ? 1 : 0;
    }
    EXPECT_EQ(refused, 1);
}

TEST(Connections, SilentConnectionIsClosedAfterTheFirstByteTimeout) {
    TempDir dir;
    ServerProcess server(dir.path(), {{"IMAGECDN_SERVER_FIRST_BYTE_TIMEOUT_MS", "500"},
                                      {"IMAGECDN_SERVER_IDLE_TIMEOUT_MS", "60000"}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    RawConnection silent(server.port());
    // Closed long before the idle timeout (60 s).
    EXPECT_TRUE(silent.closed_by_peer(10s));

    // After a request, the connection may idle beyond the first-byte timeout.
    RawConnection kept(server.port());
    ASSERT_TRUE(kept.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(kept.read_response());
    EXPECT_FALSE(kept.closed_by_peer(2s));
    ASSERT_TRUE(kept.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto second = kept.read_response();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, 200);
}

TEST(Connections, SlowDripHeadAndBodyAreCutByTheMinimumRate) {
    TempDir dir;
    // Generous overall timeouts: only min_bytes_per_second (default 1024 over 5 s) can cut.
    ServerProcess server(dir.path(), {{"IMAGECDN_SERVER_HEADER_TIMEOUT_MS", "120000"},
                                      {"IMAGECDN_SERVER_BODY_TIMEOUT_MS", "120000"}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto started = Clock::now();
    auto head = std::async(std::launch::async, [&] {
        RawConnection conn(server.port());
        return drip(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " +
                              std::string(100, 'a') + "\r\n\r\n");
    });
    auto body = std::async(std::launch::async, [&] {
        RawConnection conn(server.port());
        conn.send("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  "application/json\r\nContent-Length: 100\r\n\r\n");
        return drip(conn, std::string(100, ' '));
    });
    for (auto* dripped : {&head, &body}) {
        const auto res = dripped->get();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 408);
        EXPECT_EQ(error_code(*res), "request_timeout");
        EXPECT_EQ(res->header("connection"), "close");
    }
    // Cut by a 5 s window, long before the 120 s timeouts (and before the 100 bytes were in).
    EXPECT_LT(Clock::now() - started, 60s);
}

TEST(Bodies, HugeLoginBodyIsRefusedBeforeItIsRead) {
    TempDir dir;
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto rss_before = rss_kb(server.pid());
    RawConnection conn(server.port());
    // The head alone: the answer comes while the 100 MB body is still unsent.
    ASSERT_TRUE(conn.send("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          "application/json\r\nContent-Length: 104857600\r\n\r\n"));
    const auto res = conn.read_response(false, 10s);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
    EXPECT_EQ(error_code(*res), "payload_too_large");
    EXPECT_EQ(res->header("connection"), "close");
    EXPECT_TRUE(conn.closed_by_peer(10s));
    const auto rss_after = rss_kb(server.pid());
    ASSERT_GT(rss_before, 0);
    EXPECT_LT(rss_after - rss_before, 10 * 1024) << rss_before << " KB → " << rss_after << " KB";

    // A JSON body within 64 KB is still read and answered.
    const auto small =
        http_request(server.port(), "POST", "/api/v1/auth/login",
                     {{"Content-Type", "application/json"}},
                     R"({"email":"nobody@example.com","password":"wrong-password"})");
    ASSERT_TRUE(small);
    EXPECT_EQ(small->status, 401);
}

TEST(Bodies, DeliveryRequestWithABodyIs400) {
    TempDir dir;
    const auto pk = create_customer(dir.path(), "body@example.com");
    put_original(dir.path(), pk, "a.png", sample_png());
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto with_length =
        http_request(server.port(), "GET", "/" + pk + "/a.png", {}, std::string(10, 'x'));
    ASSERT_TRUE(with_length);
    EXPECT_EQ(with_length->status, 400);
    EXPECT_EQ(error_code(*with_length), "bad_request");

    RawConnection chunked(server.port());
    ASSERT_TRUE(chunked.send("GET /" + pk + "/a.png HTTP/1.1\r\nHost: x\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"));
    const auto res = chunked.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);

    const auto plain = http_request(server.port(), "GET", "/" + pk + "/a.png");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->status, 200);
}

TEST(Bodies, UploadLimitIsDecidedAfterAuthenticationBeforeTheBody) {
    TempDir dir;
    const auto account = create_account(dir.path(), "upload@example.com"); // free: 20 MB
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto head_only = [&](const std::string& target, const std::string& credentials,
                               std::uint64_t length) {
        RawConnection conn(server.port());
        EXPECT_TRUE(conn.send("PUT " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: " +
                              "image/png\r\n" + credentials + "Content-Length: " +
                              std::to_string(length) + "\r\n\r\n"));
        auto res = conn.read_response(false, 10s);
        EXPECT_TRUE(res) << target;
        return res.value_or(RawResponse{});
    };
    const auto anonymous = head_only("/api/v1/images/big.png", "", 90'000'000);
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(anonymous.header("connection"), "close");

    const auto key = "X-API-Key: " + account.api_key + "\r\n";
    const auto over_plan = head_only("/api/v1/images/big.png", key, 30'000'000);
    EXPECT_EQ(over_plan.status, 413);
    EXPECT_EQ(error_code(over_plan), "payload_too_large");

    const auto unknown_token = head_only("/api/v1/uploads/ut_nosuchtoken", "", 90'000'000);
    EXPECT_EQ(unknown_token.status, 403);

    // Within the plan, with Expect: 100-continue: told to go on, then stored.
    const auto& png = sample_png();
    RawConnection conn(server.port());
    ASSERT_TRUE(conn.send("PUT /api/v1/images/ok.png HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          "image/png\r\n" + key + "Expect: 100-continue\r\nContent-Length: " +
                          std::to_string(png.size()) + "\r\n\r\n"));
    const auto go_on = conn.read_response(false, 10s);
    ASSERT_TRUE(go_on);
    EXPECT_EQ(go_on->status, 100);
    ASSERT_TRUE(conn.send(png));
    const auto stored = conn.read_response(false, 30s);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->status, 201) << stored->body;
}

/** `imagecdn serve` with RLIMIT_NOFILE set to `limit` (soft and hard) before exec. */
class LimitedServer {
public:
    LimitedServer(const std::string& data_dir, rlim_t limit, std::map<std::string, std::string> env)
        : err_path_(data_dir + ".limited.err") {
        const auto port = std::to_string(free_port());
        pid_ = ::fork();
        if (pid_ == 0) {
            const rlimit r{limit, limit};
            ::setrlimit(RLIMIT_NOFILE, &r);
            const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(err, STDERR_FILENO);
            ::dup2(err, STDOUT_FILENO);
            env.emplace("IMAGECDN_AUTH_INTERNAL_SECRET", ServerProcess::INTERNAL_SECRET);
            for (const auto& [name, value] : env) {
                ::setenv(name.c_str(), value.c_str(), 1);
            }
            const auto binary = imagecdn_binary();
            const std::string listen = "127.0.0.1:" + port;
            ::execl(binary.c_str(), binary.c_str(), "serve", "--data-dir", data_dir.c_str(),
                    "--listen", listen.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    ~LimitedServer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    /** The exit code once it exits, nullopt if it still runs at the deadline. */
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        const auto code = wait_for_exit(pid_, timeout);
        if (code) {
            pid_ = -1;
        }
        return code;
    }
    /** Whether its output shows `text` before the deadline. */
    bool logs(const std::string& text, std::chrono::milliseconds timeout) {
        return poll_until([&] { return output().find(text) != std::string::npos; }, timeout);
    }
    std::string output() const { return read_file(err_path_); }

private:
    std::string err_path_;
    pid_t pid_ = -1;
};

TEST(FdLimit, ConfiguredMaxConnectionsAboveTheLimitExits2) {
    TempDir dir;
    LimitedServer server(dir.path(), 512, {{"IMAGECDN_SERVER_MAX_CONNECTIONS", "100000"}});
    EXPECT_EQ(server.wait_exit(30s), 2) << server.output();
    EXPECT_NE(server.output().find("server.max_connections"), std::string::npos)
        << server.output();
}

TEST(FdLimit, DefaultMaxConnectionsIsLoweredToFit) {
    TempDir dir;
    LimitedServer server(dir.path(), 512, {});
    // 512 less the 256 kept for files and listeners.
    EXPECT_TRUE(server.logs("max_connections lowered from 10000 to 256", 30s)) << server.output();
    EXPECT_FALSE(server.wait_exit(500ms)) << server.output();
}

} // namespace
} // namespace cdn::test
