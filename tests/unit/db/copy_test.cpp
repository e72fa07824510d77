#include "db/copy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::EngineTest;
using testing::migrate_or_fail;
using testing::open_or_fail;

constexpr std::int64_t BIG = 9'000'000'000'000'000'000; // beyond 32 bits, near int64's end

/** One row in every table of the schema, with NULLs, 64-bit numbers and non-ASCII text. */
const std::vector<std::string>& one_row_per_table() {
    static const std::vector<std::string> inserts = {
        "INSERT INTO customers (id, public_key, email, password_hash, plan, settings, "
        "signing_secret, suspended, billing_status, stripe_customer_id, created_at, updated_at, "
        "stripe_subscription_id, past_due_since, subscription_event_at, invoice_event_at) VALUES "
        "('c1', 'pk_1', 'one@example.com', NULL, 'pro', '{\"a\":\"é✓\"}', 's1', 1, 'past_due', "
        "'cus_1', 1700000000, 9000000000000000000, 'sub_1', NULL, 5, 6)",
        "INSERT INTO customers (id, public_key, email, plan, signing_secret, created_at, "
        "updated_at) VALUES ('c2', 'pk_2', 'two@example.com', 'free', 's2', 1, 2)",
        "INSERT INTO custom_domains (host, customer_id) VALUES ('img.example.com', 'c1')",
        "INSERT INTO api_keys (id, customer_id, name, prefix, secret_hash, created_at, "
        "last_used_at) VALUES ('k1', 'c1', 'ci', 'sk_abc', 'hash', 1, NULL)",
        "INSERT INTO originals (customer_id, path, bytes, content_type, width, height, etag, "
        "created_at, updated_at) VALUES ('c1', 'a/b.png', 9000000000000000000, 'image/png', "
        "2147483647, NULL, 'e1', 1, 2)",
        "INSERT INTO usage_hourly (customer_id, hour, requests, bytes_out, transforms, "
        "cache_hits, errors) VALUES ('gone', 1700000000, 3, 9000000000000000000, 1, 2, 0)",
        "INSERT INTO webhook_events (id, type, created, processed_at) VALUES "
        "('evt_1', 'invoice.paid', 1, 2)",
        "INSERT INTO presets (customer_id, name, options, updated_at) VALUES "
        "('c1', 'thumb', 'w=100&h=100', 3)",
        "INSERT INTO refresh_tokens (id, family_id, customer_id, token_hash, created_at, "
        "expires_at, used_at, revoked_at) VALUES ('r1', 'f1', 'c1', 'th', 1, 2, NULL, 4)",
        "INSERT INTO upload_tokens (id, customer_id, path, content_type, max_bytes, created_at, "
        "expires_at, used_at) VALUES ('u1', 'c2', 'x.jpg', 'image/jpeg', 100, 1, 2, NULL)",
        "INSERT INTO meter_reports (customer_id, day, identifier, bytes, created_at, "
        "reported_at, attempts, last_error) VALUES ('c1', 19000, 'id-1', 5, 1, NULL, 2, 'boom')",
        "INSERT INTO storage_reservations (customer_id, path, id, bytes, expires_at) VALUES "
        "('c2', 'y.jpg', 'res-1', 4096, 1700000300)",
    };
    return inserts;
}

/** Every row of `table`, sorted (the engines order text differently). */
std::vector<std::vector<Value>> sorted_rows(Database& db, const std::string& table) {
    auto rows = db.query("SELECT * FROM " + table);
    EXPECT_TRUE(rows) << table << ": " << rows.error().detail;
    std::vector<std::vector<Value>> values;
    for (auto& row : rows ? *rows : Rows{}) {
        values.push_back(std::move(row.values));
    }
    // Value has no order (nullptr_t has none): sort by a printed form.
    const auto key = [](const std::vector<Value>& row) {
        return ::testing::PrintToString(row);
    };
    std::sort(values.begin(), values.end(),
              [&](const auto& a, const auto& b) { return key(a) < key(b); });
    return values;
}

std::int64_t count(Database& db, const std::string& table) {
    auto rows = db.query("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(rows) << table << ": " << rows.error().detail;
    return rows ? rows->front().integer(0).value_or(-1) : -1;
}

/** Source: a migrated SQLite database beside the target; target (`db_`): the engine under test,
 *  empty and not migrated. */
class CopyTest : public EngineTest {
protected:
    void SetUp() override {
        EngineTest::SetUp();
        source_ = open_or_fail(dir_.file("source.db"));
        ASSERT_NE(source_, nullptr);
        ASSERT_NO_FATAL_FAILURE(migrate_or_fail(*source_));
    }

    void populate() {
        for (const auto& sql : one_row_per_table()) {
            auto done = source_->execute(sql);
            ASSERT_TRUE(done) << sql << ": " << done.error().detail;
        }
    }

    DatabasePtr source_;
};

CDN_ON_EVERY_ENGINE(CopyTest);

TEST_P(CopyTest, CopiesEveryTableOfTheSourceWithEveryValue) {
    ASSERT_NO_FATAL_FAILURE(populate());
    auto copied = copy_database(*source_, *db_);
    ASSERT_TRUE(copied) << copied.error().message << ": " << copied.error().detail;

    auto tables = list_tables(*source_);
    ASSERT_TRUE(tables);
    std::erase(*tables, "schema_migrations");
    std::vector<std::string> reported;
    for (const auto& table : *copied) {
        reported.push_back(table.table);
        // A table this fixture leaves empty would be copied untested: give it a row above.
        EXPECT_GT(table.rows, 0) << table.table << " has no row in one_row_per_table()";
        EXPECT_EQ(table.rows, count(*source_, table.table)) << table.table;
        EXPECT_EQ(sorted_rows(*db_, table.table), sorted_rows(*source_, table.table))
            << table.table;
    }
    std::sort(reported.begin(), reported.end());
    EXPECT_EQ(reported, *tables);
    // Parents before children, as foreign keys need.
    EXPECT_EQ(copied->front().table, "customers");
}

TEST_P(CopyTest, CopiesManyRowsInBatches) {
    ASSERT_NO_FATAL_FAILURE(populate());
    ASSERT_TRUE(source_->transaction([](Database& tx) -> core::Result<void> {
        for (std::int64_t hour = 0; hour < 1234; ++hour) {
            CDN_TRY_VOID(tx.execute("INSERT INTO usage_hourly (customer_id, hour, requests) "
                                    "VALUES ('c1', $1, $2)",
                                    {Value{hour * 3600}, Value{BIG - hour}}));
        }
        return {};
    }));
    auto copied = copy_database(*source_, *db_);
    ASSERT_TRUE(copied) << copied.error().detail;
    EXPECT_EQ(count(*db_, "usage_hourly"), 1235);
    EXPECT_EQ(sorted_rows(*db_, "usage_hourly"), sorted_rows(*source_, "usage_hourly"));
}

TEST_P(CopyTest, RefusesATargetThatHasRows) {
    ASSERT_NO_FATAL_FAILURE(populate());
    ASSERT_TRUE(copy_database(*source_, *db_));
    ASSERT_TRUE(source_->execute("INSERT INTO webhook_events (id, type, created, processed_at) "
                                 "VALUES ('evt_2', 't', 1, 2)"));

    auto again = copy_database(*source_, *db_);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, core::Errc::Conflict);
    EXPECT_NE(again.error().message.find("not empty"), std::string::npos);
    EXPECT_EQ(count(*db_, "webhook_events"), 1);
}

TEST_P(CopyTest, RefusesATargetWithAnotherApplicationsTable) {
    ASSERT_NO_FATAL_FAILURE(populate());
    ASSERT_TRUE(db_->execute("CREATE TABLE invoices (id BIGINT)"));

    auto copied = copy_database(*source_, *db_);
    ASSERT_FALSE(copied);
    EXPECT_EQ(copied.error().code, core::Errc::Conflict);
    EXPECT_NE(copied.error().message.find("invoices"), std::string::npos);
    auto tables = list_tables(*db_);
    ASSERT_TRUE(tables);
    EXPECT_EQ(*tables, std::vector<std::string>{"invoices"}); // not migrated either
}

TEST_P(CopyTest, RefusesABlobColumnBeforeWritingAnything) {
    ASSERT_TRUE(source_->execute("CREATE TABLE thumbnails (id TEXT, data BLOB)"));

    auto copied = copy_database(*source_, *db_);
    ASSERT_FALSE(copied);
    EXPECT_EQ(copied.error().code, core::Errc::InvalidRequest);
    EXPECT_NE(copied.error().message.find("thumbnails.data"), std::string::npos);
    auto tables = list_tables(*db_);
    ASSERT_TRUE(tables);
    EXPECT_TRUE(tables->empty());
}

TEST_P(CopyTest, SnapshotCopyLeavesNoScratchFile) {
    ASSERT_NO_FATAL_FAILURE(populate());
    const auto scratch = dir_.file("scratch.db");
    auto copied = copy_database_snapshot(*source_, *db_, scratch);
    ASSERT_TRUE(copied) << copied.error().detail;
    EXPECT_EQ(count(*db_, "customers"), 2);
    for (const char* suffix : {"", "-wal", "-shm"}) {
        EXPECT_FALSE(std::filesystem::exists(scratch + suffix)) << suffix;
    }
}

TEST(CopyDatabase, RefusesASourceThatIsNotSqlite) {
    testing::TempDir dir;
    auto target = open_or_fail(dir.file("x.db"));
    auto source = testing::open_postgres_or_fail(testing::fresh_postgres(1));
    ASSERT_TRUE(source && target);
    auto copied = copy_database(*source, *target);
    ASSERT_FALSE(copied);
    EXPECT_EQ(copied.error().code, core::Errc::InvalidRequest);
}

} // namespace
} // namespace cdn::db
