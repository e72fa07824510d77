// Noisy neighbour (issue 13 item 2) against the real binary: one customer flooding
// cache-busting misses at its plan's rate must not take the transform workers from another.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using namespace std::chrono_literals;

/** How a customer's requests were answered. */
struct Tally {
    std::atomic<int> ok{0};
    std::atomic<int> busy{0};
    /** 503 busy without a Retry-After, or with another error code: must stay 0. */
    std::atomic<int> busy_malformed{0};
    std::atomic<int> rate_limited{0};
    std::atomic<int> other{0};

    void add(const std::optional<RawResponse>& res) {
        if (!res) {
            ++other;
        } else if (res->status == 200) {
            ++ok;
        } else if (res->status == 503) {
            ++busy;
            if (!res->header("retry-after") || error_code(*res) != "busy") {
                ++busy_malformed;
            }
        } else if (res->status == 429) {
            ++rate_limited;
        } else {
            ++other;
        }
    }
};

/** One GET on a fresh connection from `source` (a 127.0.0.x address: one client each). */
std::optional<RawResponse> get_from(int port, const std::string& source,
                                    const std::string& target) {
    RawConnection conn(port, source);
    if (!conn.connected() ||
        !conn.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) {
        return std::nullopt;
    }
    return conn.read_response();
}

/** A customer's client: its public key and its source address. */
struct Client {
    std::string public_key;
    std::string source;
};

class NoisyNeighbourTest : public ::testing::Test {
protected:
    std::string add_customer(const std::string& email) {
        auto pk = create_customer(dir_.path(), email, "pro");
        put_original(dir_.path(), pk, "photo.jpg", sample_jpeg());
        return pk;
    }

    /** One transform worker, so contention is reached on any machine, and these queue sizes. */
    void start(const std::string& queue, const std::string& queue_per_customer) {
        server_ = std::make_unique<ServerProcess>(
            dir_.path(), std::map<std::string, std::string>{
                             {"IMAGECDN_LIMITS_MAX_CONCURRENT_TRANSFORMS", "1"},
                             {"IMAGECDN_LIMITS_TRANSFORM_QUEUE", queue},
                             {"IMAGECDN_LIMITS_TRANSFORM_QUEUE_PER_CUSTOMER", queue_per_customer},
                         });
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    /**
     * `noisy` floods cache-busting misses at `rps` over 10 connections that never wait for a
     * slot; once it is refused, `quiet` makes 12 misses, each followed by a hit, one at a time
     * as a visitor would. Every answer is tallied.
     */
    void flood(const Client& noisy, int rps, const Client& quiet) {
        const int port = server_->port();
        const std::string hit = "/" + quiet.public_key + "/photo.jpg?w=300";
        ASSERT_EQ(get_from(port, quiet.source, hit)->status, 200);
        constexpr int CONNECTIONS = 10;
        const auto interval = std::chrono::microseconds(1'000'000 * CONNECTIONS / rps);
        std::atomic<bool> stop{false};
        std::vector<std::thread> flooders;
        for (int c = 0; c < CONNECTIONS; ++c) {
            flooders.emplace_back([&, c] {
                auto next = std::chrono::steady_clock::now();
                for (int i = 0; !stop; ++i) {
                    const auto target = "/" + noisy.public_key + "/photo.jpg?w=800&v=n" +
                                        std::to_string(c) + "-" + std::to_string(i);
                    noisy_.add(get_from(port, noisy.source, target));
                    next += interval;
                    std::this_thread::sleep_until(next); // pacing the load, not synchronising
                }
            });
        }
        flood_overran_queue_ = poll_until([&] { return noisy_.busy > 0; }, 60s, 10ms);
        for (int i = 0; i < 12 && flood_overran_queue_; ++i) {
            const auto target = "/" + quiet.public_key + "/photo.jpg?w=800&v=q" + std::to_string(i);
            const auto miss = get_from(port, quiet.source, target);
            quiet_misses_.add(miss);
            EXPECT_EQ(miss ? miss->header("x-cache") : std::nullopt, "MISS")
                << (miss ? miss->body : "no answer");
            const auto again = get_from(port, quiet.source, hit);
            quiet_hits_.add(again);
            EXPECT_EQ(again ? again->header("x-cache") : std::nullopt, "HIT");
        }
        stop = true;
        for (auto& t : flooders) {
            t.join();
        }
    }

    void expect_only_the_noisy_client_refused() {
        ASSERT_TRUE(flood_overran_queue_) << "the flood never filled the queue";
        EXPECT_EQ(quiet_misses_.ok, 12);
        EXPECT_EQ(quiet_misses_.busy, 0);
        EXPECT_EQ(quiet_hits_.ok, 12);
        // The flooding client is the one told to wait, and told when to retry.
        EXPECT_EQ(noisy_.busy_malformed, 0);
        EXPECT_GT(noisy_.ok, 0);
        EXPECT_EQ(noisy_.other, 0);
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
    Tally noisy_;
    Tally quiet_misses_;
    Tally quiet_hits_;
    bool flood_overran_queue_ = false;
};

TEST_F(NoisyNeighbourTest, OneCustomersFloodOfMissesLeavesAnothersMissesAndHitsServed) {
    const auto noisy = add_customer("noisy@example.com");
    const auto quiet = add_customer("quiet@example.com");
    // A queue of three: the flood alone keeps it full, so before fair scheduling every miss of
    // the quiet customer was 503 busy.
    start("3", "16");
    // The pro plan's full rate.
    flood({noisy, "127.0.0.1"}, 500, {quiet, "127.0.0.2"});
    expect_only_the_noisy_client_refused();
}

TEST_F(NoisyNeighbourTest, OneClientsFloodOfMissesLeavesTheSameCustomersOtherVisitorsServed) {
    const auto customer = add_customer("site@example.com");
    // The customer's own queue (three) is what the flood fills here.
    start("64", "3");
    // Below the plan's rate, so the rate limit refuses neither client.
    flood({customer, "127.0.0.1"}, 300, {customer, "127.0.0.2"});
    expect_only_the_noisy_client_refused();
}

} // namespace
} // namespace cdn::test
