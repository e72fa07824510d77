// Issue 13 item 3 against the real binary on loopback: a stranger flooding a public key is
// refused while the customer's other visitors are still served (plans.md: the rate limit is fair
// across clients), and X-Forwarded-For names the client only when the peer is a trusted proxy.
// Clients are played from different 127.0.0.x source addresses.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
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

/** The free plan's limit, lowered to keep the test light on a shared machine. */
constexpr int LIMIT_RPS = 20;

/** One client: keep-alive requests from one source address, reconnecting when closed. */
class Client {
public:
    Client(int port, std::string source, std::string forwarded_for = {})
        : port_(port), source_(std::move(source)), forwarded_for_(std::move(forwarded_for)) {}

    std::optional<RawResponse> get(const std::string& target) {
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (!conn_ || !conn_->connected()) {
                conn_ = std::make_unique<RawConnection>(port_, source_);
            }
            std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
            if (!forwarded_for_.empty()) {
                req += "X-Forwarded-For: " + forwarded_for_ + "\r\n";
            }
            req += "\r\n";
            if (conn_->send(req)) {
                if (auto res = conn_->read_response(false, 10s)) {
                    return res;
                }
            }
            conn_.reset();
        }
        return std::nullopt;
    }

private:
    int port_;
    std::string source_;
    std::string forwarded_for_;
    std::unique_ptr<RawConnection> conn_;
};

/** A client sending `rps` requests a second at one public key until destroyed, counting the
 *  answers by status. */
class Flood {
public:
    Flood(int port, std::string source, std::string target, int rps,
          std::string forwarded_for = {})
        : thread_([this, port, source = std::move(source), target = std::move(target), rps,
                   forwarded_for = std::move(forwarded_for)] {
              Client client(port, source, forwarded_for);
              const auto spacing = std::chrono::microseconds(1'000'000 / rps);
              auto next = Clock::now();
              for (int i = 0; !stop_.load(); ++i) {
                  const auto res = client.get(target + "-" + std::to_string(i));
                  const bool refused = res && res->status == 429;
                  (refused ? limited_ : other_).fetch_add(1);
                  if (refused) {
                      const auto second = unix_second();
                      std::int64_t none = 0;
                      first_refused_second_.compare_exchange_strong(none, second);
                      last_refused_second_.store(second);
                  }
                  next += spacing; // paced, not synchronised: the flood's rate
                  std::this_thread::sleep_until(next);
              }
          }) {}
    ~Flood() {
        stop_.store(true);
        thread_.join();
    }

    int limited() const { return limited_.load(); }
    int other() const { return other_.load(); }

    /** Waits until the flood has been refused in a whole unix second after the one it was
     *  first refused in: the fair share forms from the previous one-second window's attempts
     *  (docs/edge-policy.md), and the server names its windows by unix second. */
    bool wait_until_refused() const {
        return poll_until(
            [&] {
                const auto first = first_refused_second_.load();
                return first > 0 && last_refused_second_.load() >= first + 2;
            },
            20s);
    }

private:
    static std::int64_t unix_second() {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    std::atomic<std::int64_t> first_refused_second_{0};
    std::atomic<std::int64_t> last_refused_second_{0};
    std::atomic<bool> stop_{false};
    std::atomic<int> limited_{0};
    std::atomic<int> other_{0};
    std::thread thread_;
};

/** What a visitor at a modest rate (5 a second, a quarter of the limit) got for `targets`. */
struct Visit {
    int ok_hits = 0;
    int limited = 0;
    int total = 0;
};
Visit visit(Client& client, const std::vector<std::string>& targets, int rounds) {
    Visit v;
    auto next = Clock::now();
    for (int round = 0; round < rounds; ++round) {
        for (const auto& target : targets) {
            const auto res = client.get(target);
            ++v.total;
            v.limited += res && res->status == 429 ? 1 : 0;
            v.ok_hits += res && res->status == 200 && res->header("x-cache") == "HIT" ? 1 : 0;
            next += 200ms;
            std::this_thread::sleep_until(next);
        }
    }
    return v;
}

class FairRateLimitTest : public ::testing::Test {
protected:
    std::string add_customer(const std::string& email) {
        auto pk = create_customer(dir_.path(), email, "free");
        put_original(dir_.path(), pk, "photo.jpg", sample_jpeg());
        put_original(dir_.path(), pk, "logo.png", sample_png());
        return pk;
    }

    void start(std::map<std::string, std::string> env = {}) {
        env["IMAGECDN_PLANS_FREE_RATE_LIMIT_RPS"] = std::to_string(LIMIT_RPS);
        server_ = std::make_unique<ServerProcess>(dir_.path(), std::move(env));
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    /** The customer's variants a visitor's page shows, requested once so they are cached. */
    std::vector<std::string> cached_variants(Client& client, const std::string& pk) {
        const std::vector<std::string> targets = {"/" + pk + "/logo.png",
                                                  "/" + pk + "/photo.jpg?w=64",
                                                  "/" + pk + "/photo.jpg?w=32&format=png"};
        for (const auto& target : targets) {
            const auto res = client.get(target);
            EXPECT_TRUE(res && res->status == 200) << target;
        }
        return targets;
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(FairRateLimitTest, OneClientFloodingAKeyIsRefusedWhileAnotherIsStillServed) {
    const auto pk = add_customer("site@example.com");
    start();
    Client visitor(server_->port(), "127.0.0.3");
    const auto variants = cached_variants(visitor, pk);

    // A stranger at 10x the plan's rate at /{pk}/anything.
    Flood flood(server_->port(), "127.0.0.2", "/" + pk + "/anything", 10 * LIMIT_RPS);
    ASSERT_TRUE(flood.wait_until_refused()) << "the flood was never refused";

    const auto seen = visit(visitor, variants, 5); // 15 requests over 3 seconds
    EXPECT_EQ(seen.limited, 0) << "the visitor was refused for the stranger's flood";
    EXPECT_EQ(seen.ok_hits, seen.total) << "every cached variant is served from the cache";

    const int refused_before = flood.limited();
    ASSERT_TRUE(Client(server_->port(), "127.0.0.2").get("/" + pk + "/logo.png"));
    EXPECT_GT(flood.limited(), flood.other()) << "the flood is mostly refused";
    EXPECT_GT(refused_before, 100);
}

TEST_F(FairRateLimitTest, XForwardedForNamesTheClientOnlyFromATrustedProxy) {
    const auto behind_proxy = add_customer("proxied@example.com");
    const auto direct = add_customer("direct@example.com");
    start({{"IMAGECDN_SERVER_TRUSTED_PROXIES", "127.0.0.1"}});

    // Through the trusted proxy (peer 127.0.0.1), two clients it names: the flood is refused,
    // the visitor it names differently is served.
    Client proxied_visitor(server_->port(), "127.0.0.1", "198.51.100.2");
    const auto proxied_variants = cached_variants(proxied_visitor, behind_proxy);
    // From an untrusted peer (127.0.0.2) the same two headers name nobody: both are 127.0.0.2,
    // so the "visitor" shares the flood's fate.
    Client spoofing_visitor(server_->port(), "127.0.0.2", "198.51.100.2");
    const auto direct_variants = cached_variants(spoofing_visitor, direct);

    Flood proxied_flood(server_->port(), "127.0.0.1", "/" + behind_proxy + "/anything",
                        10 * LIMIT_RPS, "198.51.100.1");
    Flood spoofing_flood(server_->port(), "127.0.0.2", "/" + direct + "/anything",
                         10 * LIMIT_RPS, "198.51.100.1");
    ASSERT_TRUE(proxied_flood.wait_until_refused());
    ASSERT_TRUE(spoofing_flood.wait_until_refused());

    const auto proxied = visit(proxied_visitor, proxied_variants, 3);
    EXPECT_EQ(proxied.limited, 0) << "X-Forwarded-For from a trusted proxy was not honoured";
    EXPECT_EQ(proxied.ok_hits, proxied.total);

    const auto spoofed = visit(spoofing_visitor, direct_variants, 3);
    EXPECT_GT(spoofed.limited, spoofed.total / 2)
        << "X-Forwarded-For from an untrusted peer was honoured";
}

TEST(TrustedProxiesConfig, AMalformedEntryStopsStartWithExit2NamingTheKey) {
    TempDir dir;
    const auto r = run_imagecdn({"serve", "--data-dir", dir.path(), "--listen", "127.0.0.1:0"},
                                {{"IMAGECDN_SERVER_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/33"}});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("server.trusted_proxies"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("10.0.0.0/33"), std::string::npos) << r.err;
}

} // namespace
} // namespace cdn::test
