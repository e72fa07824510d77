#include "db/postgres_database.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "db_test_support.h"

// What only the PostgreSQL backend does: its pool bound, its error mapping, the retry of a
// serialization failure. The shared behaviour is in database_contract_test.cpp.

namespace cdn::db {
namespace {

using testing::make_customer;
using testing::PostgresMigratedTest;
using testing::PostgresTest;

std::int64_t integer_of(Database& db, std::string_view sql) {
    auto rows = db.query(sql);
    EXPECT_TRUE(rows) << rows.error().detail;
    return rows && !rows->empty() ? rows->front().integer(0).value_or(-1) : -1;
}

TEST_F(PostgresTest, ACallerWaitsABoundedTimeForABusyPool) {
    options_.pool_size = 1;
    options_.pool_wait = std::chrono::milliseconds(200);
    auto opened = PostgresDatabase::open(options_);
    ASSERT_TRUE(opened) << opened.error().detail;
    auto& db = **opened;
    auto tx = db.transaction([&](Database&) -> core::Result<void> {
        // The only connection is this transaction's: another thread cannot get one.
        auto waited = std::async(std::launch::async, [&] { return db.query("SELECT 1"); }).get();
        EXPECT_FALSE(waited);
        EXPECT_EQ(waited.error().code, core::Errc::Unavailable);
        EXPECT_NE(waited.error().detail.find("stayed busy"), std::string::npos);
        return {};
    });
    ASSERT_TRUE(tx) << tx.error().detail;
    EXPECT_TRUE(db.query("SELECT 1")); // given back
}

TEST_F(PostgresTest, NeverOpensMoreConnectionsThanThePoolSize) {
    options_.pool_size = 2;
    auto opened = PostgresDatabase::open(options_);
    ASSERT_TRUE(opened) << opened.error().detail;
    auto& db = **opened;
    std::mutex mutex;
    std::set<std::int64_t> sessions; // server process ids: one per connection
    std::vector<std::thread> callers;
    for (int t = 0; t < 6; ++t) {
        callers.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                auto rows = db.query("SELECT pg_backend_pid(), pg_sleep(0.001)");
                ASSERT_TRUE(rows) << rows.error().detail;
                std::lock_guard lock(mutex);
                sessions.insert(rows->front().integer(0).value_or(-1));
            }
        });
    }
    for (auto& caller : callers) {
        caller.join();
    }
    EXPECT_GE(sessions.size(), 1u);
    EXPECT_LE(sessions.size(), 2u);
}

TEST_F(PostgresTest, StatementsPastTheTimeoutAreCancelledAsUnavailable) {
    options_.statement_timeout = std::chrono::milliseconds(100);
    auto opened = PostgresDatabase::open(options_);
    ASSERT_TRUE(opened) << opened.error().detail;
    auto slow = (*opened)->query("SELECT pg_sleep(10)");
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().code, core::Errc::Unavailable);
    EXPECT_NE(slow.error().detail.find("57014"), std::string::npos);
    EXPECT_EQ(integer_of(**opened, "SELECT 1"), 1);
}

TEST_F(PostgresTest, AnUnreachableServerIsUnavailable) {
    PostgresOptions nowhere;
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    nowhere.url = "postgres://postgres@127.0.0.1:1/none";
    auto opened = PostgresDatabase::open(nowhere);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, core::Errc::Unavailable);
    EXPECT_EQ(opened.error().message, "database error");
}

TEST_F(PostgresTest, ABrokenConnectionIsUnavailableThenReplaced) {
    options_.pool_size = 1;
    auto opened = PostgresDatabase::open(options_);
    ASSERT_TRUE(opened) << opened.error().detail;
    auto& db = **opened;
    // The server ends our one session, as a restart or a network cut would.
    auto killed = db.query("SELECT pg_terminate_backend(pg_backend_pid())");
    ASSERT_FALSE(killed);
    EXPECT_EQ(killed.error().code, core::Errc::Unavailable);
    EXPECT_EQ(integer_of(db, "SELECT 1"), 1); // a new connection, without a restart
}

TEST_F(PostgresTest, TextWithNulIsRefused) {
    // PostgreSQL's text cannot hold NUL (SQLite's can): an error, never a truncated value.
    auto rows = db_->query("SELECT $1", {std::string("nul\0 and é", 11)});
    ASSERT_FALSE(rows);
    EXPECT_EQ(rows.error().code, core::Errc::Internal);
}

TEST_F(PostgresTest, NumericAndFloatResultsAreExact) {
    auto rows = db_->query("SELECT SUM(x), 0.1::float8, 1e300::float8, 12.5::numeric "
                           "FROM (VALUES (9007199254740993::bigint), (1)) AS v(x)");
    ASSERT_TRUE(rows) << rows.error().detail;
    const auto& row = rows->front();
    EXPECT_EQ(row.integer(0), 9007199254740994); // past a double's exact integers
    EXPECT_EQ(row.real(1), 0.1);
    EXPECT_EQ(row.real(2), 1e300);
    EXPECT_EQ(row.real(3), 12.5);
}

TEST_F(PostgresTest, BackupPointsToPgDump) {
    auto backed_up = db_->backup_to("/tmp/never-written.db");
    ASSERT_FALSE(backed_up);
    EXPECT_NE(backed_up.error().message.find("pg_dump"), std::string::npos);
}

TEST_F(PostgresTest, EachConnectionRunsInUtcWithTheStatementTimeout) {
    auto rows = db_->query("SELECT current_setting('TimeZone'), "
                           "current_setting('statement_timeout')");
    ASSERT_TRUE(rows) << rows.error().detail;
    EXPECT_EQ(rows->front().text(0), "UTC");
    EXPECT_EQ(rows->front().text(1), "5s");
}

/** A transaction whose body reads customer c1, then (while `interfere` says so) lets another
 *  session change c1 before writing it: SERIALIZABLE fails the write with 40001. */
core::Result<void> lost_update(Database& db, std::atomic<int>& attempts, int interfering) {
    return db.transaction([&](Database& tx) -> core::Result<void> {
        const int attempt = ++attempts;
        CDN_TRY_VOID(tx.query("SELECT plan FROM customers WHERE id = 'c1'"));
        if (attempt <= interfering) {
            auto other = std::async(std::launch::async, [&] {
                return db.execute("UPDATE customers SET plan = 'pro' WHERE id = 'c1'");
            }).get();
            EXPECT_TRUE(other) << other.error().detail;
        }
        CDN_TRY_VOID(tx.execute("UPDATE customers SET plan = 'team' WHERE id = 'c1'"));
        return {};
    });
}

TEST_F(PostgresMigratedTest, ASerializationFailureRunsTheBodyAgain) {
    ASSERT_TRUE(CustomerRepository(*db_).insert(make_customer("c1")));
    std::atomic<int> attempts{0};
    auto done = lost_update(*db_, attempts, 1);
    ASSERT_TRUE(done) << done.error().detail;
    EXPECT_EQ(attempts, 2);
    EXPECT_EQ(CustomerRepository(*db_).find_by_id("c1").value()->plan, "team");
}

TEST_F(PostgresMigratedTest, SerializationFailuresAreRetriedABoundedNumberOfTimes) {
    ASSERT_TRUE(CustomerRepository(*db_).insert(make_customer("c1")));
    std::atomic<int> attempts{0};
    auto done = lost_update(*db_, attempts, 1000);
    ASSERT_FALSE(done);
    EXPECT_EQ(done.error().code, core::Errc::Unavailable);
    EXPECT_NE(done.error().detail.find("40001"), std::string::npos);
    EXPECT_EQ(attempts, PostgresDatabase::MAX_ATTEMPTS);
    EXPECT_EQ(CustomerRepository(*db_).find_by_id("c1").value()->plan, "pro");
}

} // namespace
} // namespace cdn::db
