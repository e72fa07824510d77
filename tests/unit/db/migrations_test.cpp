#include "db/migrations.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "db/original_repository.h"
#include "db_test_support.h"
#include "poll_until.h"

namespace cdn::db {
namespace {

using test::FakeClock;
using testing::EngineTest;
using testing::PostgresTest;

// EngineTest runs on every engine (instantiated in database_contract_test.cpp).

TEST_P(EngineTest, MigrateCreatesEveryTable) {
    auto version = migrate(*db_, FakeClock(1'700'000'000));
    ASSERT_TRUE(version) << version.error().detail;
    EXPECT_EQ(*version, migrations().back().version);
    for (const char* table : {"schema_migrations", "customers", "custom_domains", "api_keys",
                              "originals", "usage_hourly", "webhook_events", "presets"}) {
        // Portable: a missing table fails the query on either engine.
        auto rows = db_->query("SELECT COUNT(*) FROM " + std::string(table));
        ASSERT_TRUE(rows) << table << ": " << rows.error().detail;
        EXPECT_EQ(rows->size(), 1u) << table;
    }
}

TEST_P(EngineTest, MigrateIsIdempotent) {
    auto first = migrate(*db_, FakeClock(1'700'000'000));
    auto second = migrate(*db_, FakeClock(1'800'000'000));
    ASSERT_TRUE(first) << first.error().detail;
    ASSERT_TRUE(second) << second.error().detail;
    EXPECT_EQ(*first, *second);

    auto applied = db_->query("SELECT version, applied_at FROM schema_migrations");
    ASSERT_TRUE(applied);
    ASSERT_EQ(applied->size(), migrations().size());
    EXPECT_EQ(applied->front().integer(0), 1);
    EXPECT_EQ(applied->front().integer(1), 1'700'000'000); // not re-stamped by the second run
}

TEST_P(EngineTest, MigrationsAreNumberedInOrder) {
    int expected = 1;
    for (const auto& migration : migrations()) {
        EXPECT_EQ(migration.version, expected++);
        EXPECT_FALSE(migration.statements.empty());
    }
}

TEST_P(EngineTest, RefusesASchemaNewerThanTheBinary) {
    ASSERT_TRUE(migrate(*db_));
    ASSERT_TRUE(
        db_->execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)"));
    auto version = migrate(*db_);
    ASSERT_FALSE(version);
    EXPECT_EQ(version.error().code, core::Errc::Internal);
    EXPECT_NE(version.error().detail.find("999"), std::string::npos);
    const auto newest = std::to_string(migrations().back().version);
    EXPECT_EQ(version.error().message, "database schema version 999 is newer than this binary (" +
                                           newest + "): upgrade imagecdn");
}

TEST_P(EngineTest, AMigrationForOneDialectIsRecordedOnEveryEngine) {
    ASSERT_TRUE(migrate(*db_));
    for (const auto& migration : migrations()) {
        auto applied = db_->query("SELECT 1 FROM schema_migrations WHERE version = $1",
                                  {std::int64_t{migration.version}});
        ASSERT_TRUE(applied) << applied.error().detail;
        EXPECT_EQ(applied->size(), 1u) << "version " << migration.version;
    }
}

// The test cluster's own locale is C, so without the column's own collation this would pass
// by accident: what is checked is the column's declared collation, which holds under any
// database locale.
TEST_F(PostgresTest, OriginalPathsHaveTheByteOrderCollation) {
    ASSERT_TRUE(migrate(*db_));
    auto collation = db_->query(
        "SELECT collation_name FROM information_schema.columns "
        "WHERE table_name = 'originals' AND column_name = 'path'");
    ASSERT_TRUE(collation) << collation.error().detail;
    ASSERT_EQ(collation->size(), 1u);
    EXPECT_EQ(collation->front().text(0), "C");
}

// A database whose default collation is a language's (ICU en-US: "_x" < "a" < "B") still lists
// and pages originals in byte order ("B" < "_x" < "a"), as SQLite does.
TEST_F(PostgresTest, OriginalsAreListedInByteOrderUnderALanguageCollation) {
    const auto name = "icu_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                      "_" + std::to_string(reinterpret_cast<std::uintptr_t>(this) % 100000);
    ASSERT_TRUE(db_->execute("CREATE DATABASE " + name +
                             " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
                             "LOCALE 'C.utf8'"));
    auto options = options_;
    options.url = options.url.substr(0, options.url.rfind('/') + 1) + name;
    auto icu = testing::open_postgres_or_fail(options);
    ASSERT_NE(icu, nullptr);
    ASSERT_TRUE(migrate(*icu));
    ASSERT_TRUE(icu->execute(
        "INSERT INTO customers (id, public_key, email, plan, signing_secret, created_at, "
        "updated_at) VALUES ('c1', 'pk_1', 'one@example.com', 'free', 's', 1, 1)"));
    for (const char* path : {"a.jpg", "B.jpg", "_x.jpg"}) {
        ASSERT_TRUE(icu->execute("INSERT INTO originals (customer_id, path, bytes, content_type, "
                                 "etag, created_at, updated_at) "
                                 "VALUES ('c1', $1, 1, 'image/jpeg', 'e', 1, 1)",
                                 {std::string(path)}));
    }
    OriginalRepository originals(*icu);
    auto first = originals.list("c1", "", "", 2);
    ASSERT_TRUE(first) << first.error().detail;
    ASSERT_EQ(first->size(), 2u);
    EXPECT_EQ((*first)[0].path, "B.jpg");
    EXPECT_EQ((*first)[1].path, "_x.jpg");
    auto rest = originals.list("c1", "", (*first)[1].path, 2);
    ASSERT_TRUE(rest) << rest.error().detail;
    ASSERT_EQ(rest->size(), 1u);
    EXPECT_EQ(rest->front().path, "a.jpg");
}

/** One empty database of the instantiated engine, opened as often as a test likes, as
 *  separate processes (nodes) would open it. */
class SeveralNodesTest : public ::testing::TestWithParam<testing::Engine> {
protected:
    void SetUp() override {
        if (GetParam() == testing::Engine::Postgres) {
            postgres_ = testing::fresh_postgres(2);
        }
    }

    DatabasePtr open_node() {
        return GetParam() == testing::Engine::Sqlite
                   ? testing::open_or_fail(dir_.file("test.db"))
                   : testing::open_postgres_or_fail(postgres_);
    }

    testing::TempDir dir_;
    PostgresOptions postgres_;
};

CDN_ON_EVERY_ENGINE(SeveralNodesTest);

TEST_P(SeveralNodesTest, NodesMigratingAtOnceApplyEachVersionOnce) {
    constexpr int NODES = 3;
    std::vector<DatabasePtr> nodes;
    for (int i = 0; i < NODES; ++i) {
        nodes.push_back(open_node());
        ASSERT_NE(nodes.back(), nullptr);
    }
    std::atomic<int> ready{0};
    std::vector<core::Result<int>> results(NODES, 0);
    std::vector<std::thread> threads;
    for (int i = 0; i < NODES; ++i) {
        threads.emplace_back([&, i] {
            // Released together, so the migrations really overlap.
            ++ready;
            while (ready.load() < NODES) {
                std::this_thread::yield();
            }
            results[static_cast<std::size_t>(i)] = migrate(*nodes[static_cast<std::size_t>(i)]);
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    for (const auto& result : results) {
        ASSERT_TRUE(result) << result.error().detail;
        EXPECT_EQ(*result, migrations().back().version);
    }
    auto applied = nodes.front()->query(
        "SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_migrations");
    ASSERT_TRUE(applied) << applied.error().detail;
    EXPECT_EQ(applied->front().integer(0), static_cast<std::int64_t>(migrations().size()));
    EXPECT_EQ(applied->front().integer(1), static_cast<std::int64_t>(migrations().size()));
}

/** Sessions of this database whose last statement tried to take an advisory lock. */
std::int64_t sessions_that_tried_the_lock(Database& db) {
    auto rows = db.query(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        "query LIKE 'SELECT pg_try_advisory_lock%'");
    return rows ? rows->front().integer(0).value_or(-1) : -1;
}

TEST_F(PostgresTest, ExclusivelyMakesAnotherNodeWaitForTheLock) {
    auto other = testing::open_postgres_or_fail(options_);
    ASSERT_NE(other, nullptr);
    std::atomic<bool> first_done{false};
    std::atomic<bool> second_ran_early{false};
    std::thread second;
    auto first = db_->exclusively(42, [&]() -> core::Result<void> {
        second = std::thread([&] {
            auto held = other->exclusively(42, [&]() -> core::Result<void> {
                second_ran_early = !first_done.load();
                return {};
            });
            EXPECT_TRUE(held) << held.error().detail;
        });
        // This node's lock session and the second node's, which found the lock taken.
        EXPECT_TRUE(test::poll_until([&] { return sessions_that_tried_the_lock(*db_) == 2; },
                                     std::chrono::seconds(20)));
        first_done = true;
        return {};
    });
    second.join();
    ASSERT_TRUE(first) << first.error().detail;
    EXPECT_FALSE(second_ran_early);
}

TEST_F(PostgresTest, ExclusivelyReturnsTheBodysError) {
    auto failed = db_->exclusively(
        7, [] { return core::Result<void>(core::make_error(core::Errc::Conflict, "no")); });
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, core::Errc::Conflict);
}

} // namespace
} // namespace cdn::db
