#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>

#include "db/postgres_database.h"
#include "db_test_support.h"
#include "poll_until.h"
#include "postgres_process.h"

// PostgreSQL going away and coming back while a PostgresDatabase is open: every call ends by its
// deadline, and the pool reconnects by itself. Each test has a server of its own (it stops or
// freezes it), never the binary's shared one.

namespace cdn::db {
namespace {

using namespace std::chrono_literals;
using testing::PostgresTest;

// Generous against a loaded machine, far below "forever": the timeouts under test are 300 ms.
constexpr auto BOUND = 5s;

class PostgresOutageTest : public ::testing::Test {
protected:
  void SetUp() override {
    options_.url = server_.url(server_.create_database());
    options_.pool_size = 2;
    options_.statement_timeout = 300ms;
    options_.connect_timeout = 300ms;
    auto opened = PostgresDatabase::open(options_);
    ASSERT_TRUE(opened) << opened.error().detail;
    db_ = std::move(*opened);
  }

  /** `call` run on another thread: its result, or a failure if it is still waiting after BOUND
   *  (then the server is thawed so that the call, and the test, can end). */
  template <class Call> auto within_bound(Call call) {
    const auto started = std::chrono::steady_clock::now();
    auto future = std::async(std::launch::async, call);
    if (future.wait_for(BOUND) != std::future_status::ready) {
      ADD_FAILURE() << "still waiting for the database after " << BOUND.count()
                    << " s";
      server_.thaw();
    }
    auto result = future.get();
    EXPECT_LT(std::chrono::steady_clock::now() - started, BOUND);
    return result;
  }

  test::PostgresProcess server_;
  PostgresOptions options_;
  DatabasePtr db_;
};

bool answers(Database &db) {
  auto rows = db.query("SELECT 1");
  return rows && rows->size() == 1;
}

TEST_F(PostgresOutageTest, ThePoolReconnectsAfterTheServerRestarts) {
  ASSERT_TRUE(answers(*db_));
  server_.shut_down();
  auto down = db_->query("SELECT 1");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, core::Errc::Unavailable);
  EXPECT_FALSE(db_->check());

  server_.start_again();
  // The idle connections the restart closed are dropped at once, not handed out broken: the first
  // call after the restart already succeeds.
  EXPECT_TRUE(answers(*db_));
  EXPECT_TRUE(db_->check());
  auto written = db_->execute("CREATE TABLE after_restart (id BIGINT)");
  EXPECT_TRUE(written) << written.error().detail;
}

TEST_F(PostgresOutageTest, AStatementOnAHungServerEndsByItsDeadline) {
  ASSERT_TRUE(answers(*db_));
  server_.freeze();
  auto hung = within_bound([this] { return db_->query("SELECT 1"); });
  ASSERT_FALSE(hung);
  EXPECT_EQ(hung.error().code, core::Errc::Unavailable);
  // The connection that timed out is dropped; a new one cannot be opened either, in time.
  auto reconnect = within_bound([this] { return db_->query("SELECT 1"); });
  ASSERT_FALSE(reconnect);
  EXPECT_EQ(reconnect.error().code, core::Errc::Unavailable);
  auto transaction = within_bound([this] {
    return db_->transaction([](Database &tx) -> core::Result<void> {
      CDN_TRY_VOID(tx.execute("SELECT 1"));
      return {};
    });
  });
  EXPECT_FALSE(transaction);
  auto check = within_bound([this] { return db_->check(); });
  EXPECT_FALSE(check);

  server_.thaw();
  EXPECT_TRUE(test::poll_until([this] { return answers(*db_); }, BOUND));
}

TEST_F(PostgresOutageTest, OpeningOnAHungServerEndsByTheConnectTimeout) {
  server_.freeze();
  auto opened =
      within_bound([this] { return PostgresDatabase::open(options_); });
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, core::Errc::Unavailable);
  server_.thaw();
}

TEST(PostgresSilentListener, OpeningEndsByTheConnectTimeout) {
  // A listener that never accepts: the kernel completes the handshake, nothing ever answers.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&addr), len), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len), 0);
  PostgresOptions options;
  options.url =
      "postgres://postgres@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
      "/x";
  options.connect_timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  auto future = std::async(std::launch::async,
                           [&] { return PostgresDatabase::open(options); });
  const bool ended = future.wait_for(BOUND) == std::future_status::ready;
  ::close(
      fd); // the connection attempt, if it still waits, ends with the listener
  auto opened = future.get();
  EXPECT_TRUE(ended) << "still connecting after " << BOUND.count() << " s";
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, core::Errc::Unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, BOUND);
}

TEST_F(PostgresTest, AZeroStatementTimeoutIsNoDeadline) {
    // 0 is "no timeout" for PostgreSQL's statement_timeout; the client does not invent one.
    options_.statement_timeout = 0ms;
    auto opened = PostgresDatabase::open(options_);
    ASSERT_TRUE(opened) << opened.error().detail;
    auto slow = (*opened)->query("SELECT pg_sleep(0.5)");
    EXPECT_TRUE(slow) << slow.error().detail;
    EXPECT_TRUE((*opened)->check());
}

} // namespace
} // namespace cdn::db
