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
using testing::MigratedTest;
using testing::SqliteTest;

std::int64_t count_rows(Database& db, std::string_view table) {
    auto rows = db.query("SELECT COUNT(*) FROM " + std::string(table));
    EXPECT_TRUE(rows) << rows.error().detail;
    return rows ? rows->front().integer(0).value_or(-1) : -1;
}

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

TEST_F(SqliteTest, ParamsRoundTripEveryValueType) {
    ASSERT_TRUE(db_->execute("CREATE TABLE t (n BIGINT, r DOUBLE PRECISION, s TEXT, z TEXT)"));
    const std::string awkward("nul\0 and é", 11);
    for (const auto n : {std::numeric_limits<std::int64_t>::min(), std::int64_t{0},
                         std::numeric_limits<std::int64_t>::max()}) {
        auto inserted = db_->execute("INSERT INTO t (n, r, s, z) VALUES ($1, $2, $3, $4)",
                                     {n, 0.1, awkward, nullptr});
        ASSERT_TRUE(inserted) << inserted.error().detail;
        EXPECT_EQ(*inserted, 1);
        auto rows = db_->query("SELECT n, r, s, z FROM t WHERE n = $1", {n});
        ASSERT_TRUE(rows) << rows.error().detail;
        ASSERT_EQ(rows->size(), 1u);
        const auto& row = rows->front();
        EXPECT_EQ(row.integer(0), n);
        EXPECT_EQ(row.real(1), 0.1);
        EXPECT_EQ(row.text(2), awkward);
        EXPECT_TRUE(std::holds_alternative<std::nullptr_t>(row.values[3]));
        EXPECT_EQ(row.text(3), std::nullopt);
    }
}

TEST_F(SqliteTest, EmptyTextIsNotNull) {
    auto rows = db_->query("SELECT $1, $1 IS NULL", {std::string()});
    ASSERT_TRUE(rows) << rows.error().detail;
    EXPECT_EQ(rows->front().text(0), "");
    EXPECT_EQ(rows->front().integer(1), 0);
}

TEST_F(SqliteTest, PlaceholdersBindByNumberInAnyOrder) {
    auto rows = db_->query("SELECT $2, $1, $2", {std::int64_t{1}, std::string("two")});
    ASSERT_TRUE(rows) << rows.error().detail;
    EXPECT_EQ(rows->front().text(0), "two");
    EXPECT_EQ(rows->front().integer(1), 1);
    EXPECT_EQ(rows->front().text(2), "two");
}

TEST_F(SqliteTest, WrongPlaceholdersAreInternalErrors) {
    auto too_many = db_->query("SELECT $1", {std::int64_t{1}, std::int64_t{2}});
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().code, core::Errc::Internal);
    EXPECT_EQ(too_many.error().message, "database error");

    auto positional = db_->query("SELECT ?", {std::int64_t{1}});
    ASSERT_FALSE(positional);
    EXPECT_EQ(positional.error().code, core::Errc::Internal);

    auto gap = db_->query("SELECT $1, $3", {std::int64_t{1}, std::int64_t{2}});
    ASSERT_FALSE(gap);
    EXPECT_NE(gap.error().detail.find("$2"), std::string::npos);
}

TEST_F(SqliteTest, BadSqlIsInternalWithSqliteMessageInDetail) {
    auto bad = db_->query("SELEC 1");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, core::Errc::Internal);
    EXPECT_EQ(bad.error().message, "database error");
    EXPECT_NE(bad.error().detail.find("syntax error"), std::string::npos);
}

TEST_F(SqliteTest, OneStatementPerCall) {
    auto two = db_->execute("CREATE TABLE a (x INTEGER); CREATE TABLE b (x INTEGER)");
    ASSERT_FALSE(two);
    EXPECT_EQ(two.error().code, core::Errc::Internal);
    EXPECT_TRUE(db_->execute("CREATE TABLE a (x INTEGER);  \n"));
}

TEST_F(SqliteTest, ExecuteCountsOnlyItsOwnChanges) {
    ASSERT_TRUE(db_->execute("CREATE TABLE t (x INTEGER)"));
    ASSERT_TRUE(db_->execute("INSERT INTO t (x) VALUES (1)"));
    ASSERT_TRUE(db_->execute("INSERT INTO t (x) VALUES (2)"));
    EXPECT_EQ(db_->execute("UPDATE t SET x = x + 10").value(), 2);
    EXPECT_EQ(db_->execute("CREATE INDEX t_x ON t (x)").value(), 0);
    EXPECT_EQ(db_->execute("DELETE FROM t WHERE x > 100").value(), 0);
}

TEST_F(SqliteTest, CheckAndDialect) {
    EXPECT_TRUE(db_->check());
    EXPECT_EQ(db_->dialect(), "sqlite");
}

TEST(SqliteOpen, RefusesMemoryAndReportsUnopenableFiles) {
    auto memory = SqliteDatabase::open(":memory:");
    ASSERT_FALSE(memory);
    EXPECT_EQ(memory.error().code, core::Errc::Internal);

    auto missing_dir = SqliteDatabase::open("/nonexistent-dir-for-cdn-test/x.db");
    ASSERT_FALSE(missing_dir);
    EXPECT_EQ(missing_dir.error().code, core::Errc::Unavailable);
}

TEST_F(MigratedTest, UniqueViolationIsConflict) {
    CustomerRepository customers(*db_);
    ASSERT_TRUE(customers.insert(make_customer("c1")));
    auto twin = make_customer("c2");
    twin.email = "c1@example.com";
    auto inserted = customers.insert(twin);
    ASSERT_FALSE(inserted);
    EXPECT_EQ(inserted.error().code, core::Errc::Conflict);
    EXPECT_EQ(inserted.error().message, "database error");
    EXPECT_NE(inserted.error().detail.find("customers.email"), std::string::npos);
}

TEST_F(MigratedTest, ForeignKeysAreEnforced) {
    auto orphan = db_->execute(
        "INSERT INTO presets (customer_id, name, options, updated_at) "
        "VALUES ($1, $2, $3, $4)",
        {std::string("nobody"), std::string("thumb"), std::string("w=100"), std::int64_t{1}});
    ASSERT_FALSE(orphan);
    EXPECT_NE(orphan.error().detail.find("FOREIGN KEY"), std::string::npos);
}

TEST_F(MigratedTest, TransactionCommitsOnSuccess) {
    auto tx = db_->transaction([](Database& tx) -> core::Result<void> {
        return CustomerRepository(tx).insert(make_customer("c1"));
    });
    ASSERT_TRUE(tx) << tx.error().detail;
    EXPECT_EQ(count_rows(*db_, "customers"), 1);
}

TEST_F(MigratedTest, TransactionRollsBackOnError) {
    auto tx = db_->transaction([](Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(CustomerRepository(tx).insert(make_customer("c1")));
        return core::make_error(core::Errc::InvalidRequest, "stop");
    });
    ASSERT_FALSE(tx);
    EXPECT_EQ(tx.error().code, core::Errc::InvalidRequest);
    EXPECT_EQ(count_rows(*db_, "customers"), 0);
}

TEST_F(MigratedTest, TransactionRollsBackAndRethrowsOnException) {
    EXPECT_THROW((void)db_->transaction([](Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(CustomerRepository(tx).insert(make_customer("c1")));
        throw std::runtime_error("boom");
    }),
                 std::runtime_error);
    EXPECT_EQ(count_rows(*db_, "customers"), 0);
    // The connection and the write lock were given back.
    EXPECT_TRUE(CustomerRepository(*db_).insert(make_customer("c2")));
}

TEST_F(MigratedTest, NestedTransactionIsASavepoint) {
    auto tx = db_->transaction([](Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(CustomerRepository(tx).insert(make_customer("kept")));
        auto inner = tx.transaction([](Database& inner_tx) -> core::Result<void> {
            CDN_TRY_VOID(CustomerRepository(inner_tx).insert(make_customer("dropped")));
            return core::make_error(core::Errc::Conflict, "inner fails");
        });
        EXPECT_FALSE(inner);
        return tx.transaction([](Database& inner_tx) -> core::Result<void> {
            return CustomerRepository(inner_tx).insert(make_customer("nested"));
        });
    });
    ASSERT_TRUE(tx) << tx.error().detail;
    CustomerRepository customers(*db_);
    EXPECT_TRUE(customers.find_by_id("kept").value().has_value());
    EXPECT_FALSE(customers.find_by_id("dropped").value().has_value());
    EXPECT_TRUE(customers.find_by_id("nested").value().has_value());
}

TEST_F(MigratedTest, UsingTheOuterDatabaseInsideABodyFailsFast) {
    auto tx = db_->transaction([this](Database&) -> core::Result<void> {
        auto outer = db_->query("SELECT 1");
        EXPECT_FALSE(outer);
        EXPECT_EQ(outer.error().code, core::Errc::Internal);
        EXPECT_FALSE(db_->transaction([](Database&) -> core::Result<void> { return {}; }));
        EXPECT_FALSE(db_->backup_to("unused.db"));
        return {};
    });
    EXPECT_TRUE(tx);
    EXPECT_TRUE(db_->query("SELECT 1")); // fine again once the body returned
}

TEST_F(MigratedTest, ConcurrentWritersLoseNoCounts) {
    constexpr int THREADS = 8;
    constexpr int ROUNDS = 200;
    constexpr std::int64_t HOUR = 1'700'000'000 - 1'700'000'000 % 3600;
    std::vector<std::thread> writers;
    for (int t = 0; t < THREADS; ++t) {
        writers.emplace_back([this, t] {
            UsageRepository usage(*db_);
            for (int i = 0; i < ROUNDS; ++i) {
                // Three hours, so inserts and updates of the same rows interleave.
                const UsageDelta delta{"c1", HOUR + (i % 3) * 3600, 1, 10, 0, t % 2, 0};
                auto added = usage.add_hourly({delta});
                ASSERT_TRUE(added) << added.error().detail;
                // Readers run alongside the writers on other pooled connections.
                ASSERT_TRUE(usage.sum_bytes_out("c1", HOUR, HOUR + 3 * 3600));
            }
        });
    }
    for (auto& writer : writers) {
        writer.join();
    }
    auto rows = db_->query("SELECT SUM(requests), SUM(bytes_out), SUM(cache_hits), COUNT(*) "
                           "FROM usage_hourly WHERE customer_id = $1",
                           {std::string("c1")});
    ASSERT_TRUE(rows) << rows.error().detail;
    const auto& row = rows->front();
    EXPECT_EQ(row.integer(0), THREADS * ROUNDS);
    EXPECT_EQ(row.integer(1), THREADS * ROUNDS * 10);
    EXPECT_EQ(row.integer(2), THREADS / 2 * ROUNDS);
    EXPECT_EQ(row.integer(3), 3);
}

TEST_F(MigratedTest, BackupIsAConsistentDatabaseWithTheRows) {
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

TEST_F(MigratedTest, BackupWhileWritingAndOverAnOlderBackup) {
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

TEST_F(MigratedTest, NoBackupInsideATransaction) {
    auto tx = db_->transaction([this](Database& tx) -> core::Result<void> {
        auto backed_up = tx.backup_to(dir_.file("x.db"));
        EXPECT_FALSE(backed_up);
        return {};
    });
    EXPECT_TRUE(tx);
}

TEST(Row, HelpersCheckTypeAndRange) {
    const Row row{{nullptr, std::int64_t{7}, 2.5, std::string("s")}};
    EXPECT_EQ(row.text(3), "s");
    EXPECT_EQ(row.text(1), std::nullopt);
    EXPECT_EQ(row.integer(1), 7);
    EXPECT_EQ(row.integer(0), std::nullopt);
    EXPECT_EQ(row.integer(2), std::nullopt);
    EXPECT_EQ(row.real(2), 2.5);
    EXPECT_EQ(row.real(1), 7.0);
    EXPECT_EQ(row.text(9), std::nullopt);
}

} // namespace
} // namespace cdn::db
