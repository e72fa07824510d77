#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using namespace std::chrono_literals;

TEST(Server, RequestSmugglingShapesAre400AndClose) {
    TempDir dir;
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const std::vector<std::pair<std::string, std::string>> shapes{
        {"te-not-chunked", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
        {"te-xchunked", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"},
        {"te-and-cl", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"chunked-http10", "POST /healthz HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"obs-fold", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n"},
        {"differing-cl", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
        {"space-before-colon", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc"},
    };
    for (const auto& [name, request] : shapes) {
        RawConnection conn(server.port());
        ASSERT_TRUE(conn.send(request)) << name;
        const auto res = conn.read_response();
        ASSERT_TRUE(res) << name;
        EXPECT_EQ(res->status, 400) << name;
        EXPECT_NE(res->body.find(R"("code":"bad_request")"), std::string::npos) << name;
        EXPECT_EQ(res->header("connection"), "close") << name;
        EXPECT_TRUE(conn.closed_by_peer(2s)) << name;
    }
    // A well-formed chunked request still works: its JSON body is read (wrong credentials, 401,
    // not a 400 for a missing body).
    RawConnection ok(server.port());
    const std::string json = R"({"email":"a@example.com","password":"not-the-password"})";
    ASSERT_TRUE(ok.send(fmt::format("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                    "application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    "{:x}\r\n{}\r\n0\r\n\r\n",
                                    json.size(), json)));
    const auto res = ok.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << res->body;
}

TEST(Server, HalfHeaderClientIsDroppedWhileOthersAreServed) {
    TempDir dir;
    ServerProcess server(dir.path(), {{"IMAGECDN_SERVER_HEADER_TIMEOUT_MS", "1000"},
                                      {"IMAGECDN_SERVER_THREADS", "1"}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    std::vector<std::unique_ptr<RawConnection>> slow;
    for (int i = 0; i < 20; ++i) {
        slow.push_back(std::make_unique<RawConnection>(server.port()));
        ASSERT_TRUE(slow.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow:"));
    }
    // The single I/O thread still serves everyone else at once: a thread blocked on each half
    // head in turn would take 20 times the 1 s header timeout.
    const auto started = std::chrono::steady_clock::now();
    const auto res = http_request(server.port(), "GET", "/healthz");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    // Cut at the header timeout: a request had started, so it is told 408 first.
    for (auto& conn : slow) {
        const auto cut = conn->read_response(false, 5s);
        ASSERT_TRUE(cut);
        EXPECT_EQ(cut->status, 408);
        EXPECT_TRUE(conn->closed_by_peer(5s));
    }
}

TEST(Server, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
    TempDir dir;
    ServerProcess server(dir.path(), {{"IMAGECDN_SERVER_IDLE_TIMEOUT_MS", "500"}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    RawConnection conn(server.port());
    ASSERT_TRUE(conn.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(conn.read_response());
    EXPECT_TRUE(conn.closed_by_peer(3s));
}

TEST(Server, MetricsListenerServesMetricsApartFromTheMainListener) {
    TempDir dir;
    const int metrics_port = free_port();
    ServerProcess server(dir.path(),
                         {{"IMAGECDN_METRICS_LISTEN", "127.0.0.1:" + std::to_string(metrics_port)}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto scraped = http_request(metrics_port, "GET", "/metrics");
    ASSERT_TRUE(scraped);
    EXPECT_EQ(scraped->status, 200);
    EXPECT_NE(scraped->body.find("imagecdn_http_responses_total"), std::string::npos)
        << scraped->body.substr(0, 300);
    EXPECT_EQ(http_request(metrics_port, "GET", "/healthz")->status, 404);
    // The main listener no longer has /metrics, even with the secret.
    const auto main = http_request(server.port(), "GET", "/metrics",
                                   {{"Authorization", std::string("Bearer ") +
                                                          ServerProcess::INTERNAL_SECRET}});
    ASSERT_TRUE(main);
    EXPECT_EQ(main->status, 404);
    EXPECT_EQ(server.stop(), 0);
}

// X-Served-By names the node on every answer (docs/config.md, [server] node_name): by default
// the machine's host name and the port the node bound, else the configured name.
TEST(Server, EveryAnswerNamesTheNodeInXServedBy) {
    TempDir dir;
    ServerProcess unnamed(dir.path());
    ASSERT_TRUE(unnamed.start()) << unnamed.stderr_text();
    char host[256] = {};
    ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
    const auto health = http_request(unnamed.port(), "GET", "/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->header("x-served-by"), std::string(host) + ":" + std::to_string(unnamed.port()));
    unnamed.stop();

    TempDir other;
    ServerProcess named(other.path(), {{"IMAGECDN_SERVER_NODE_NAME", "edge-fra-1"}});
    ASSERT_TRUE(named.start()) << named.stderr_text();
    for (const char* target : {"/healthz", "/api/v1/billing/plans", "/pk_nobody/x.jpg"}) {
        const auto res = http_request(named.port(), "GET", target);
        ASSERT_TRUE(res) << target;
        EXPECT_EQ(res->header("x-served-by"), "edge-fra-1") << target << " " << res->status;
    }
}

TEST(Server, OversizedBodyIs413) {
    TempDir dir;
    ServerProcess server(dir.path(), {{"IMAGECDN_SERVER_MAX_BODY_BYTES", "1000"}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    // Under the 64 KB of a JSON route, over max_body_bytes: the smaller limit holds.
    const auto res = http_request(server.port(), "POST", "/api/v1/auth/login",
                                  {{"Content-Type", "application/json"}}, std::string(5000, ' '));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
}

TEST(Server, GracefulShutdownFinishesTheInFlightResponse) {
    TempDir dir;
    const auto pk = create_customer(dir.path(), "big@example.com");
    // A large original so that the response is still being written when SIGTERM arrives.
    std::string big = sample_png();
    big.resize(64 * 1024 * 1024, 'x');
    put_original(dir.path(), pk, "big.png", big);
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();

    RawConnection conn(server.port());
    ASSERT_TRUE(conn.send("GET /" + pk + "/big.png HTTP/1.1\r\nHost: x\r\n\r\n"));
    // The server has read the file and started writing: the first bytes are here (64 MB do
    // not fit in the socket buffers, so the rest waits for this client to read).
    ASSERT_TRUE(conn.wait_readable(30s));
    ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
    // The server has taken the signal once its listener is closed.
    EXPECT_TRUE(poll_until([&] { return !RawConnection(server.port()).connected(); }, 30s));
    const auto res = conn.read_response(false, 30s);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body.size(), big.size());
    // Its head went out before the signal; after it, the server closes the connection.
    EXPECT_TRUE(conn.closed_by_peer(5s));
    EXPECT_EQ(server.stop(), 0);
}

TEST(Server, NewConnectionsAreRefusedAfterShutdown) {
    TempDir dir;
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    EXPECT_EQ(server.stop(), 0);
    EXPECT_FALSE(http_request(server.port(), "GET", "/healthz"));
}

TEST(DiskTier, SurvivesRestartAndServesHitsFromDisk) {
    TempDir dir;
    const auto pk = create_customer(dir.path(), "disk@example.com");
    put_original(dir.path(), pk, "logo.png", sample_png());
    const auto target = "/" + pk + "/logo.png";
    {
        ServerProcess server(dir.path());
        ASSERT_TRUE(server.start()) << server.stderr_text();
        const auto first = http_request(server.port(), "GET", target);
        ASSERT_TRUE(first);
        EXPECT_EQ(first->header("x-cache"), "MISS");
        EXPECT_EQ(server.stop(), 0);
    }
    // A clean stop saves the disk tier's index, and the next start reads it instead of every
    // file (and deletes it, so that a crash cannot leave one out of date).
    const auto saved_index = dir.path() + "/cache/index";
    EXPECT_TRUE(std::filesystem::is_regular_file(saved_index));
    // Remove the original: a hit after the restart can only come from the disk tier.
    std::filesystem::remove(dir.path() + "/originals/" + pk + "/logo.png");
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    EXPECT_FALSE(std::filesystem::exists(saved_index));
    const auto again = http_request(server.port(), "GET", target);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
    EXPECT_EQ(again->header("x-cache"), "HIT");
    EXPECT_EQ(again->body, sample_png());
    const auto metrics = http_request(server.port(), "GET", "/metrics",
                                      {{"Authorization", std::string("Bearer ") +
                                                             ServerProcess::INTERNAL_SECRET}});
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("imagecdn_cache_lookups_total{tier=\"disk\",result=\"hit\"} 1"),
              std::string::npos)
        << metrics->body;
}

TEST(DiskTier, UnusableCacheDirectoryDoesNotBreakServing) {
    TempDir dir;
    const auto pk = create_customer(dir.path(), "nodisk@example.com");
    put_original(dir.path(), pk, "logo.png", sample_png());
    // The cache path is a regular file: the disk tier cannot work at all.
    std::ofstream(dir.path() + "/cache") << "not a directory";
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto target = "/" + pk + "/logo.png";
    const auto first = http_request(server.port(), "GET", target);
    const auto second = http_request(server.port(), "GET", target);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->status, 200);
    EXPECT_EQ(first->body, sample_png());
    EXPECT_EQ(second->header("x-cache"), "HIT");
}

TEST(DiskTier, CorruptCacheFilesAreSkipped) {
    TempDir dir;
    const auto pk = create_customer(dir.path(), "corrupt@example.com");
    put_original(dir.path(), pk, "logo.png", sample_png());
    const auto target = "/" + pk + "/logo.png";
    {
        ServerProcess server(dir.path());
        ASSERT_TRUE(server.start()) << server.stderr_text();
        ASSERT_TRUE(http_request(server.port(), "GET", target));
        EXPECT_EQ(server.stop(), 0);
    }
    int corrupted = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path() + "/cache")) {
        if (entry.is_regular_file()) {
            std::ofstream(entry.path(), std::ios::trunc) << "garbage";
            ++corrupted;
        }
    }
    EXPECT_GE(corrupted, 1);
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto res = http_request(server.port(), "GET", target);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, sample_png());
}

} // namespace
} // namespace cdn::test
