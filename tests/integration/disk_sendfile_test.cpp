// Disk-tier hits sent with sendfile(2) (memory tier off): the same bytes and headers as a memory
// hit, HEAD and Range as before, and a torn or corrupt cache file never sent.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::map<std::string, std::string> NO_MEMORY_TIER{{"IMAGECDN_CACHE_MEMORY_BYTES", "0"}};

/** A "PNG" of 3 MB (served as it is, so only its signature is checked): bigger than a loopback
 *  socket's buffer, so sendfile has to wait for the client to read. */
std::string big_png() {
    std::string bytes = sample_png().substr(0, 8);
    std::mt19937 random(42);
    while (bytes.size() < 3 * 1024 * 1024) {
        bytes.push_back(static_cast<char>(random()));
    }
    return bytes;
}

std::vector<fs::path> cache_files(const std::string& data_dir) {
    std::vector<fs::path> files;
    if (fs::exists(data_dir + "/cache")) {
        for (const auto& entry : fs::recursive_directory_iterator(data_dir + "/cache")) {
            const auto name = entry.path().filename().string();
            if (entry.is_regular_file() && name.size() == 32) {
                files.push_back(entry.path());
            }
        }
    }
    return files;
}

/** The headers but those that differ from one answer to the next whatever the tier (and the
 *  node's name and Connection, which differ between the two servers and clients here). */
std::multimap<std::string, std::string> stable_headers(const RawResponse& res) {
    auto headers = res.headers;
    for (const auto* name :
         {"date", "x-request-id", "x-cache", "server-timing", "x-served-by", "connection"}) {
        headers.erase(name);
    }
    return headers;
}

class DiskSendfile : public ::testing::Test {
protected:
    void SetUp() override {
        pk_ = create_customer(dir_.path(), "sendfile@example.com");
        put_original(dir_.path(), pk_, "big.png", big_png());
        target_ = "/" + pk_ + "/big.png";
    }
    /** A memory-tier hit from a server with the default tiers, which also leaves the variant on
     *  disk for the next server. */
    RawResponse memory_hit() {
        ServerProcess server(dir_.path());
        EXPECT_TRUE(server.start()) << server.stderr_text();
        EXPECT_TRUE(http_request(server.port(), "GET", target_));
        EXPECT_TRUE(poll_until([&] { return !cache_files(dir_.path()).empty(); }, 10s));
        auto hit = http_request(server.port(), "GET", target_);
        EXPECT_TRUE(hit);
        EXPECT_EQ(hit->header("x-cache"), "HIT");
        EXPECT_EQ(server.stop(), 0);
        return *hit;
    }

    TempDir dir_;
    std::string pk_;
    std::string target_;
};

TEST_F(DiskSendfile, HitIsByteForByteTheMemoryHit) {
    const auto from_memory = memory_hit();
    ServerProcess server(dir_.path(), NO_MEMORY_TIER);
    ASSERT_TRUE(server.start()) << server.stderr_text();
    RawConnection conn(server.port());
    // Twice on one connection: the first opens and verifies the file, the second reuses it; the
    // framing of each must leave the connection usable.
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(conn.send("GET " + target_ + " HTTP/1.1\r\nHost: x\r\n\r\n"));
        const auto from_disk = conn.read_response();
        ASSERT_TRUE(from_disk) << i;
        EXPECT_EQ(from_disk->status, 200);
        EXPECT_EQ(from_disk->header("x-cache"), "HIT");
        EXPECT_EQ(from_disk->body.size(), big_png().size());
        EXPECT_TRUE(from_disk->body == big_png()) << "bytes differ on request " << i;
        EXPECT_EQ(stable_headers(*from_disk), stable_headers(from_memory));
    }
}

TEST_F(DiskSendfile, HeadAndRangeAnswerAsAMemoryHit) {
    const auto from_memory = memory_hit();
    ServerProcess server(dir_.path(), NO_MEMORY_TIER);
    ASSERT_TRUE(server.start()) << server.stderr_text();
    RawConnection conn(server.port());
    ASSERT_TRUE(conn.send("HEAD " + target_ + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto head = conn.read_response(true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_TRUE(head->body.empty());
    EXPECT_EQ(stable_headers(*head), stable_headers(from_memory));
    // No bytes of a body followed the HEAD answer: the next answer on the connection parses.
    // Ranges are not served (delivery.md): the whole variant, 200, as from memory.
    ASSERT_TRUE(conn.send("GET " + target_ + " HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99\r\n\r\n"));
    const auto ranged = conn.read_response();
    ASSERT_TRUE(ranged);
    EXPECT_EQ(ranged->status, 200);
    EXPECT_EQ(ranged->header("x-cache"), "HIT");
    EXPECT_TRUE(ranged->body == big_png());
    EXPECT_EQ(stable_headers(*ranged), stable_headers(from_memory));
}

/** Serves once from disk (the file is then open and verified), damages the file with `damage`,
 *  and expects the next answer made again from the original, never from the damaged file. */
void expect_damage_not_served(const std::string& data_dir, const std::string& target,
                              const std::function<void(const fs::path&)>& damage) {
    ServerProcess server(data_dir, NO_MEMORY_TIER);
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto first = http_request(server.port(), "GET", target);
    ASSERT_TRUE(first);
    ASSERT_EQ(first->header("x-cache"), "HIT");
    const auto files = cache_files(data_dir);
    ASSERT_EQ(files.size(), 1u);
    damage(files.front());
    const auto again = http_request(server.port(), "GET", target);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
    EXPECT_EQ(again->header("x-cache"), "MISS");
    EXPECT_TRUE(again->body == big_png());
}

TEST_F(DiskSendfile, CorruptFileIsNotSent) {
    memory_hit();
    expect_damage_not_served(dir_.path(), target_, [](const fs::path& file) {
        // Same size, a flipped byte near the end (in the body): only the checksum can tell.
        std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(-100, std::ios::end);
        const char c = static_cast<char>(f.get());
        f.seekp(-100, std::ios::end);
        f.put(static_cast<char>(c ^ 0x5a));
    });
}

TEST_F(DiskSendfile, TruncatedFileIsNotSent) {
    memory_hit();
    expect_damage_not_served(dir_.path(), target_, [](const fs::path& file) {
        fs::resize_file(file, fs::file_size(file) - 1000);
    });
}

/** A client that asks for the big variant and goes away while it is being sent: closed after
 *  `read` bytes, with a reset when `reset` (SO_LINGER 0) or a FIN otherwise. */
void leave_mid_body(int port, const std::string& target, std::size_t read, bool reset) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    // A small receive buffer: the server's sendfile fills it at once and waits for room.
    const int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string sink(read, '\0');
    for (std::size_t got = 0; got < read;) {
        const auto n = ::recv(fd, sink.data() + got, read - got, 0);
        ASSERT_GT(n, 0);
        got += static_cast<std::size_t>(n);
    }
    if (reset) {
        const linger abort{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
    }
    ::close(fd);
}

// sendfile(2) has no MSG_NOSIGNAL: a client leaving mid-body made the next sendfile raise
// SIGPIPE and killed the server (found by bench/load/cache_hit.sh when wrk ended a run).
TEST_F(DiskSendfile, ClientsLeavingMidBodyDoNotStopTheServer) {
    memory_hit();
    ServerProcess server(dir_.path(), NO_MEMORY_TIER);
    ASSERT_TRUE(server.start()) << server.stderr_text();
    for (int i = 0; i < 20; ++i) {
        leave_mid_body(server.port(), target_, 1000 + 5000 * i, i % 2 == 0);
        ASSERT_TRUE(http_request(server.port(), "GET", "/healthz"))
            << "the server died after client " << i << ": " << server.stderr_text();
    }
    const auto whole = http_request(server.port(), "GET", target_);
    ASSERT_TRUE(whole);
    EXPECT_TRUE(whole->body == big_png());
    EXPECT_EQ(server.stop(), 0);
}

} // namespace
} // namespace cdn::test
