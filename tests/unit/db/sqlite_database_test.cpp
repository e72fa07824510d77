#include "db/sqlite_database.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "db/usage_repository.h"
#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::make_customer;
using testing::SqliteMigratedTest;
using testing::SqliteTest;

TEST_F(SqliteTest, JournalModeIsWal) {
    auto rows = db_->query("PRAGMA journal_mode");
    ASSERT_TRUE(rows) << rows.error().detail;
    EXPECT_EQ(rows->front().text(0), "wal");
}

TEST_F(SqliteTest, EveryPooledConnectionGetsThePragmas) {
    // Hold the first connection inside a transaction so the other thread must open a second.
    std::promise<void> checked;
    auto done = checked.get_future();
    auto tx = db_->transaction([&](Database&) -> core::Result<void> {
        std::thread reader([&] {
            auto fk = db_->query("SELECT foreign_keys FROM pragma_foreign_keys");
            auto sync = db_->query("SELECT synchronous FROM pragma_synchronous");
            auto busy = db_->query("SELECT timeout FROM pragma_busy_timeout");
            ASSERT_TRUE(fk && sync && busy);
            EXPECT_EQ(fk->front().integer(0), 1);
            EXPECT_EQ(sync->front().integer(0), 1); // NORMAL
            EXPECT_EQ(busy->front().integer(0), 5000);
            checked.set_value();
        });
        const bool finished = done.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
        reader.join();
        EXPECT_TRUE(finished);
        return {};
    });
    EXPECT_TRUE(tx);
}

TEST(SqliteOpen, RefusesMemoryAndReportsUnopenableFiles) {
    auto memory = SqliteDatabase::open(":memory:");
    ASSERT_FALSE(memory);
    EXPECT_EQ(memory.error().code, core::Errc::Internal);

    auto missing_dir = SqliteDatabase::open("/nonexistent-dir-for-cdn-test/x.db");
    ASSERT_FALSE(missing_dir);
    EXPECT_EQ(missing_dir.error().code, core::Errc::Unavailable);
}

TEST_F(SqliteMigratedTest, BackupIsAConsistentDatabaseWithTheRows) {
    CustomerRepository customers(*db_);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(customers.insert(make_customer("c" + std::to_string(i))));
    }
    const auto backup = dir_.file("backup.db");
    auto backed_up = db_->backup_to(backup);
    ASSERT_TRUE(backed_up) << backed_up.error().detail;
    EXPECT_FALSE(std::filesystem::exists(backup + ".partial"));

    auto copy = testing::open_or_fail(backup);
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(CustomerRepository(*copy).count().value(), 5);
    EXPECT_EQ(migrate(*copy).value(), migrations().back().version);
    auto found = CustomerRepository(*copy).find_by_email("c3@example.com");
    ASSERT_TRUE(found && found->has_value());
    EXPECT_EQ((*found)->public_key, "pk_c3");
}

TEST_F(SqliteMigratedTest, BackupWhileWritingAndOverAnOlderBackup) {
    const auto backup = dir_.file("backup.db");
    ASSERT_TRUE(db_->backup_to(backup)); // an older copy, to be replaced
    ASSERT_TRUE(CustomerRepository(*db_).insert(make_customer("before")));

    std::thread writer([this] {
        UsageRepository usage(*db_);
        for (int i = 0; i < 200; ++i) {
            ASSERT_TRUE(usage.add_hourly({UsageDelta{"c1", 0, 1, 1, 0, 0, 0}}));
        }
    });
    auto backed_up = db_->backup_to(backup);
    writer.join();
    ASSERT_TRUE(backed_up) << backed_up.error().detail;

    auto copy = testing::open_or_fail(backup);
    ASSERT_NE(copy, nullptr);
    EXPECT_TRUE(CustomerRepository(*copy).find_by_id("before").value().has_value());
    auto requests = copy->query("SELECT COALESCE(SUM(requests), 0) FROM usage_hourly");
    ASSERT_TRUE(requests);
    EXPECT_LE(requests->front().integer(0).value_or(-1), 200);
}

TEST_F(SqliteTest, TextWithNulRoundTrips) {
    ASSERT_TRUE(db_->execute("CREATE TABLE t (s TEXT)"));
    const std::string awkward("nul\0 and é", 11);
    ASSERT_TRUE(db_->execute("INSERT INTO t (s) VALUES ($1)", {awkward}));
    auto rows = db_->query("SELECT s FROM t");
    ASSERT_TRUE(rows) << rows.error().detail;
    EXPECT_EQ(rows->front().text(0), awkward);
}

} // namespace
} // namespace cdn::db
