#include "db/migrations.h"

#include <gtest/gtest.h>

#include <string>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using test::FakeClock;
using testing::EngineTest;

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
}

} // namespace
} // namespace cdn::db
