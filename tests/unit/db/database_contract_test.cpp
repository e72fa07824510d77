#include "db/database.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "db/usage_repository.h"
#include "db_test_support.h"

// The behaviour every db::Database backend shares (database.h), run on SQLite and PostgreSQL.
// What only one engine does is in sqlite_database_test.cpp and postgres_database_test.cpp.

namespace cdn::db {
namespace {

using testing::EngineTest;
using testing::make_customer;
using testing::MigratedTest;

CDN_ON_EVERY_ENGINE(EngineTest);
CDN_ON_EVERY_ENGINE(MigratedTest);

std::int64_t count_rows(Database& db, std::string_view table) {
    auto rows = db.query("SELECT COUNT(*) FROM " + std::string(table));
    EXPECT_TRUE(rows) << rows.error().detail;
    return rows ? rows->front().integer(0).value_or(-1) : -1;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
}

TEST_P(EngineTest, ParamsRoundTripEveryValueType) {
    ASSERT_TRUE(db_->execute("CREATE TABLE t (n BIGINT, r DOUBLE PRECISION, s TEXT, z TEXT)"));
    const std::string awkward("é, 'quotes', \"identifiers\", $1 and -- no comment");
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

TEST_P(EngineTest, EmptyTextIsNotNull) {
    auto rows = db_->query("SELECT $1, $1 IS NULL", {std::string()});
    ASSERT_TRUE(rows) << rows.error().detail;
    EXPECT_EQ(rows->front().text(0), "");
    EXPECT_EQ(rows->front().integer(1), 0);
}

TEST_P(EngineTest, PlaceholdersBindByNumberInAnyOrder) {
    auto rows = db_->query("SELECT $2, $1, $2", {std::int64_t{1}, std::string("two")});
    ASSERT_TRUE(rows) << rows.error().detail;
    EXPECT_EQ(rows->front().text(0), "two");
    EXPECT_EQ(rows->front().integer(1), 1);
    EXPECT_EQ(rows->front().text(2), "two");
}

TEST_P(EngineTest, WrongPlaceholdersAreInternalErrors) {
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

TEST_P(EngineTest, BadSqlIsInternalWithTheEngineMessageInDetail) {
    auto bad = db_->query("SELEC 1");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, core::Errc::Internal);
    EXPECT_EQ(bad.error().message, "database error");
    EXPECT_NE(bad.error().detail.find("syntax error"), std::string::npos);
}

TEST_P(EngineTest, OneStatementPerCall) {
    auto two = db_->execute("CREATE TABLE a (x INTEGER); CREATE TABLE b (x INTEGER)");
    ASSERT_FALSE(two);
    EXPECT_EQ(two.error().code, core::Errc::Internal);
    EXPECT_TRUE(db_->execute("CREATE TABLE a (x INTEGER);  \n"));
}

TEST_P(EngineTest, ExecuteCountsOnlyItsOwnChanges) {
    ASSERT_TRUE(db_->execute("CREATE TABLE t (x INTEGER)"));
    ASSERT_TRUE(db_->execute("INSERT INTO t (x) VALUES (1)"));
    ASSERT_TRUE(db_->execute("INSERT INTO t (x) VALUES (2)"));
    EXPECT_EQ(db_->execute("UPDATE t SET x = x + 10").value(), 2);
    EXPECT_EQ(db_->execute("CREATE INDEX t_x ON t (x)").value(), 0);
    EXPECT_EQ(db_->execute("DELETE FROM t WHERE x > 100").value(), 0);
}

TEST_P(EngineTest, CheckAndDialect) {
    EXPECT_TRUE(db_->check());
    EXPECT_EQ(db_->dialect(), GetParam() == testing::Engine::Sqlite ? "sqlite" : "postgres");
}

TEST_P(MigratedTest, UniqueViolationIsConflict) {
    CustomerRepository customers(*db_);
    ASSERT_TRUE(customers.insert(make_customer("c1")));
    auto twin = make_customer("c2");
    twin.email = "c1@example.com";
    auto inserted = customers.insert(twin);
    ASSERT_FALSE(inserted);
    EXPECT_EQ(inserted.error().code, core::Errc::Conflict);
    EXPECT_EQ(inserted.error().message, "database error");
    EXPECT_NE(inserted.error().detail.find("customers.email"), std::string::npos);
    // The detail is logged: it names the column, never the value (which may be personal).
    EXPECT_EQ(inserted.error().detail.find("c1@example.com"), std::string::npos);
}

TEST_P(MigratedTest, ForeignKeysAreEnforced) {
    auto orphan = db_->execute(
        "INSERT INTO presets (customer_id, name, options, updated_at) "
        "VALUES ($1, $2, $3, $4)",
        {std::string("nobody"), std::string("thumb"), std::string("w=100"), std::int64_t{1}});
    ASSERT_FALSE(orphan);
    EXPECT_EQ(orphan.error().code, core::Errc::Internal);
    // SQLite says "FOREIGN KEY constraint failed", PostgreSQL "violates foreign key constraint".
    EXPECT_NE(lower(orphan.error().detail).find("foreign key"), std::string::npos);
}

TEST_P(MigratedTest, TransactionCommitsOnSuccess) {
    auto tx = db_->transaction([](Database& tx) -> core::Result<void> {
        return CustomerRepository(tx).insert(make_customer("c1"));
    });
    ASSERT_TRUE(tx) << tx.error().detail;
    EXPECT_EQ(count_rows(*db_, "customers"), 1);
}

TEST_P(MigratedTest, TransactionRollsBackOnError) {
    auto tx = db_->transaction([](Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(CustomerRepository(tx).insert(make_customer("c1")));
        return core::make_error(core::Errc::InvalidRequest, "stop");
    });
    ASSERT_FALSE(tx);
    EXPECT_EQ(tx.error().code, core::Errc::InvalidRequest);
    EXPECT_EQ(count_rows(*db_, "customers"), 0);
}

TEST_P(MigratedTest, TransactionRollsBackAndRethrowsOnException) {
    EXPECT_THROW((void)db_->transaction([](Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(CustomerRepository(tx).insert(make_customer("c1")));
        throw std::runtime_error("boom");
    }),
                 std::runtime_error);
    EXPECT_EQ(count_rows(*db_, "customers"), 0);
    // The connection and the write lock were given back.
    EXPECT_TRUE(CustomerRepository(*db_).insert(make_customer("c2")));
}

TEST_P(MigratedTest, NestedTransactionIsASavepoint) {
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

TEST_P(MigratedTest, UsingTheOuterDatabaseInsideABodyFailsFast) {
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

TEST_P(MigratedTest, ConcurrentWritersLoseNoCounts) {
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

TEST_P(MigratedTest, NoBackupInsideATransaction) {
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


TEST_P(MigratedTest, AFailedStatementInANestedTransactionLeavesTheOuterUsable) {
    auto tx = db_->transaction([](Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(CustomerRepository(tx).insert(make_customer("c1")));
        auto twin = tx.transaction([](Database& inner) -> core::Result<void> {
            return CustomerRepository(inner).insert(make_customer("c1"));
        });
        EXPECT_FALSE(twin);
        EXPECT_EQ(twin.error().code, core::Errc::Conflict);
        return CustomerRepository(tx).insert(make_customer("c2"));
    });
    ASSERT_TRUE(tx) << tx.error().detail;
    EXPECT_EQ(count_rows(*db_, "customers"), 2);
}

TEST_P(MigratedTest, SavepointsNestSeveralLevels) {
    auto tx = db_->transaction([](Database& tx) -> core::Result<void> {
        return tx.transaction([](Database& middle) -> core::Result<void> {
            CDN_TRY_VOID(CustomerRepository(middle).insert(make_customer("middle")));
            auto inner = middle.transaction([](Database& inner_tx) -> core::Result<void> {
                CDN_TRY_VOID(CustomerRepository(inner_tx).insert(make_customer("inner")));
                return core::make_error(core::Errc::Conflict, "inner fails");
            });
            EXPECT_FALSE(inner);
            return {};
        });
    });
    ASSERT_TRUE(tx) << tx.error().detail;
    CustomerRepository customers(*db_);
    EXPECT_TRUE(customers.find_by_id("middle").value().has_value());
    EXPECT_FALSE(customers.find_by_id("inner").value().has_value());
}

TEST_P(EngineTest, IntegersOfEveryWidthAndBooleansReadAsIntegers) {
    ASSERT_TRUE(db_->execute("CREATE TABLE t (small INTEGER, big BIGINT, r DOUBLE PRECISION)"));
    ASSERT_TRUE(db_->execute("INSERT INTO t (small, big, r) VALUES ($1, $2, $3)",
                             {std::int64_t{7}, std::int64_t{1} << 40, 2.5}));
    auto rows = db_->query("SELECT small, big, r, small = 7, CAST(SUM(big) AS BIGINT), "
                           "COUNT(*) FROM t GROUP BY small, big, r");
    ASSERT_TRUE(rows) << rows.error().detail;
    const auto& row = rows->front();
    EXPECT_EQ(row.integer(0), 7);
    EXPECT_EQ(row.integer(1), std::int64_t{1} << 40);
    EXPECT_EQ(row.real(2), 2.5);
    EXPECT_EQ(row.integer(3), 1);
    EXPECT_EQ(row.integer(4), std::int64_t{1} << 40);
    EXPECT_EQ(row.integer(5), 1);
}

} // namespace
} // namespace cdn::db
