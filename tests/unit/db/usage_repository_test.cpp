#include "db/usage_repository.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::MigratedTest;

// MigratedTest runs on every engine (instantiated in database_contract_test.cpp).

constexpr std::int64_t H0 = 1'700'000'000 - 1'700'000'000 % 3600;
constexpr std::int64_t HOUR = 3600;

TEST(HourStart, FloorsToTheHour) {
    EXPECT_EQ(hour_start(H0), H0);
    EXPECT_EQ(hour_start(H0 + 3599), H0);
    EXPECT_EQ(hour_start(H0 + 3600), H0 + HOUR);
    EXPECT_EQ(hour_start(-1), -3600);
}

TEST_P(MigratedTest, AddHourlyAddsToExistingCounters) {
    UsageRepository usage(*db_);
    ASSERT_TRUE(usage.add_hourly({{"c1", H0, 1, 100, 1, 0, 0}, {"c1", H0 + 10, 2, 50, 0, 2, 1}}));
    ASSERT_TRUE(usage.add_hourly({{"c1", H0 + 3599, 3, 25, 1, 1, 0}}));
    auto rows = db_->query("SELECT hour, requests, bytes_out, transforms, cache_hits, errors "
                           "FROM usage_hourly WHERE customer_id = $1",
                           {std::string("c1")});
    ASSERT_TRUE(rows) << rows.error().detail;
    ASSERT_EQ(rows->size(), 1u);
    const auto& row = rows->front();
    EXPECT_EQ(row.integer(0), H0);
    EXPECT_EQ(row.integer(1), 6);
    EXPECT_EQ(row.integer(2), 175);
    EXPECT_EQ(row.integer(3), 2);
    EXPECT_EQ(row.integer(4), 3);
    EXPECT_EQ(row.integer(5), 1);
}

TEST_P(MigratedTest, SumBytesOutCoversAHalfOpenRangeOfOneCustomer) {
    UsageRepository usage(*db_);
    ASSERT_TRUE(usage.add_hourly({{"c1", H0, 0, 1, 0, 0, 0},
                                  {"c1", H0 + HOUR, 0, 10, 0, 0, 0},
                                  {"c1", H0 + 2 * HOUR, 0, 100, 0, 0, 0},
                                  {"c2", H0 + HOUR, 0, 1000, 0, 0, 0}}));
    EXPECT_EQ(usage.sum_bytes_out("c1", H0, H0 + 3 * HOUR).value(), 111);
    EXPECT_EQ(usage.sum_bytes_out("c1", H0 + HOUR, H0 + 2 * HOUR).value(), 10);
    EXPECT_EQ(usage.sum_bytes_out("c2", H0, H0 + 3 * HOUR).value(), 1000);
    EXPECT_EQ(usage.sum_bytes_out("nobody", H0, H0 + 3 * HOUR).value(), 0);
}

TEST_P(MigratedTest, AFailedBatchAddsNothing) {
    // A NULL customer id violates NOT NULL half-way through: the first delta must not stay.
    auto added = db_->transaction([](Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(UsageRepository(tx).add_hourly({{"c1", H0, 1, 1, 0, 0, 0}}));
        CDN_TRY_VOID(tx.execute("INSERT INTO usage_hourly (customer_id, hour) VALUES ($1, $2)",
                                {nullptr, H0}));
        return {};
    });
    ASSERT_FALSE(added);
    EXPECT_EQ(UsageRepository(*db_).sum_bytes_out("c1", H0, H0 + HOUR).value(), 0);
    EXPECT_TRUE(UsageRepository(*db_).add_hourly({}));
}

TEST(UsageUpsertChunks, SumEachHourOnceInKeyOrderInPowerOfTwoChunks) {
    std::vector<UsageDelta> deltas;
    // 1,300 customer-hours, each delta twice (the second in the same hour, later).
    for (int i = 1299; i >= 0; --i) {
        const auto customer = "c" + std::to_string(i % 7);
        deltas.push_back({customer, H0 + (i / 7) * HOUR, 1, 10, 0, 0, 0});
        deltas.push_back({customer, H0 + (i / 7) * HOUR + 59, 2, 5, 0, 0, 0});
    }
    const auto chunks = usage_upsert_chunks(deltas);
    std::vector<std::size_t> sizes;
    std::vector<std::pair<std::string, std::int64_t>> keys;
    for (const auto& chunk : chunks) {
        sizes.push_back(chunk.size());
        for (const auto& row : chunk) {
            keys.emplace_back(row.customer_id, row.hour);
            EXPECT_EQ(row.hour, hour_start(row.hour));
            EXPECT_EQ(row.requests, 3);
            EXPECT_EQ(row.bytes_out, 15);
        }
    }
    // 1,300 = 5 × 256 + 16 + 4.
    EXPECT_EQ(sizes, (std::vector<std::size_t>{256, 256, 256, 256, 256, 16, 4}));
    EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
    EXPECT_EQ(std::adjacent_find(keys.begin(), keys.end()), keys.end());
    EXPECT_TRUE(usage_upsert_chunks({}).empty());
}

TEST_P(MigratedTest, AFlushOfManyCustomerHoursCountsEveryOne) {
    std::vector<UsageDelta> deltas;
    for (int i = 0; i < 1100; ++i) {
        deltas.push_back({"c" + std::to_string(i % 3), H0 + (i / 3) * HOUR, 1, i, 0, 0, 0});
    }
    UsageRepository usage(*db_);
    ASSERT_TRUE(usage.add_hourly(deltas));
    ASSERT_TRUE(usage.add_hourly(deltas));
    std::int64_t expected_bytes = 0;
    for (int i = 0; i < 1100; i += 3) {
        expected_bytes += 2 * i;
    }
    const auto total = usage.totals("c0", H0, H0 + 400 * HOUR).value();
    EXPECT_EQ(total.requests, 2 * 367);
    EXPECT_EQ(total.bytes_out, expected_bytes);
    auto rows = db_->query("SELECT COUNT(*) FROM usage_hourly");
    ASSERT_TRUE(rows) << rows.error().detail;
    EXPECT_EQ(rows->front().integer(0), 1100);
}

TEST(DayStart, FloorsToTheUtcDay) {
    constexpr std::int64_t D0 = 1'700'000'000 - 1'700'000'000 % 86'400;
    EXPECT_EQ(day_start(D0), D0);
    EXPECT_EQ(day_start(D0 + 86'399), D0);
    EXPECT_EQ(day_start(D0 + 86'400), D0 + 86'400);
    EXPECT_EQ(day_start(-1), -86'400);
}

class UsageSeriesTest : public MigratedTest {
protected:
    static constexpr std::int64_t DAY = 86'400;
    static constexpr std::int64_t D0 = 1'700'000'000 - 1'700'000'000 % DAY;

    void SetUp() override {
        MigratedTest::SetUp();
        // c1: two hours on day 0, one on day 1, one on day 3; c2 on day 0 only.
        ASSERT_TRUE(UsageRepository(*db_).add_hourly({
            {"c1", D0 + 1 * HOUR, 1, 10, 1, 0, 0},
            {"c1", D0 + 23 * HOUR + 5, 2, 20, 0, 1, 1},
            {"c1", D0 + DAY, 4, 40, 2, 2, 0},
            {"c1", D0 + 3 * DAY + 2 * HOUR, 8, 80, 0, 8, 2},
            {"c2", D0 + 1 * HOUR, 100, 1000, 0, 0, 0},
        }));
    }
};

CDN_ON_EVERY_ENGINE(UsageSeriesTest);

TEST_P(UsageSeriesTest, HourlySeriesListsTheHoursWithRowsInOrder) {
    auto series = UsageRepository(*db_).series("c1", D0, D0 + 4 * DAY, UsageGranularity::Hour);
    ASSERT_TRUE(series) << series.error().detail;
    ASSERT_EQ(series->size(), 4u);
    EXPECT_EQ((*series)[0], (UsageBucket{D0 + HOUR, 1, 10, 1, 0, 0}));
    EXPECT_EQ((*series)[1], (UsageBucket{D0 + 23 * HOUR, 2, 20, 0, 1, 1}));
    EXPECT_EQ((*series)[2], (UsageBucket{D0 + DAY, 4, 40, 2, 2, 0}));
    EXPECT_EQ((*series)[3], (UsageBucket{D0 + 3 * DAY + 2 * HOUR, 8, 80, 0, 8, 2}));
}

TEST_P(UsageSeriesTest, DailySeriesSumsEachUtcDay) {
    auto series = UsageRepository(*db_).series("c1", D0, D0 + 4 * DAY, UsageGranularity::Day);
    ASSERT_TRUE(series) << series.error().detail;
    ASSERT_EQ(series->size(), 3u);
    EXPECT_EQ((*series)[0], (UsageBucket{D0, 3, 30, 1, 1, 1}));
    EXPECT_EQ((*series)[1], (UsageBucket{D0 + DAY, 4, 40, 2, 2, 0}));
    EXPECT_EQ((*series)[2], (UsageBucket{D0 + 3 * DAY, 8, 80, 0, 8, 2}));
}

TEST_P(UsageSeriesTest, SeriesIsHalfOpenAndPerCustomer) {
    UsageRepository usage(*db_);
    // [D0 + 2h, D0 + DAY): only the 23rd hour of day 0.
    auto series = usage.series("c1", D0 + 2 * HOUR, D0 + DAY, UsageGranularity::Day);
    ASSERT_TRUE(series);
    ASSERT_EQ(series->size(), 1u);
    EXPECT_EQ(series->front(), (UsageBucket{D0, 2, 20, 0, 1, 1}));
    EXPECT_TRUE(usage.series("nobody", D0, D0 + 4 * DAY, UsageGranularity::Day)->empty());
    auto other = usage.series("c2", D0, D0 + 4 * DAY, UsageGranularity::Hour);
    ASSERT_TRUE(other);
    ASSERT_EQ(other->size(), 1u);
    EXPECT_EQ(other->front().requests, 100);
}

TEST_P(UsageSeriesTest, TotalsSumARangeAndAreZeroWithoutRows) {
    UsageRepository usage(*db_);
    auto all = usage.totals("c1", D0, D0 + 4 * DAY);
    ASSERT_TRUE(all) << all.error().detail;
    EXPECT_EQ(*all, (UsageBucket{D0, 15, 150, 3, 11, 3}));
    auto from_day_one = usage.totals("c1", D0 + DAY, D0 + 4 * DAY);
    ASSERT_TRUE(from_day_one);
    EXPECT_EQ(*from_day_one, (UsageBucket{D0 + DAY, 12, 120, 2, 10, 2}));
    auto none = usage.totals("nobody", D0, D0 + 4 * DAY);
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, (UsageBucket{D0, 0, 0, 0, 0, 0}));
}

TEST_P(MigratedTest, StorageBytesSumsTheCustomersOriginals) {
    CustomerRepository customers(*db_);
    ASSERT_TRUE(customers.insert(testing::make_customer("c1")));
    ASSERT_TRUE(customers.insert(testing::make_customer("c2")));
    UsageRepository usage(*db_);
    EXPECT_EQ(usage.storage_bytes("c1").value(), 0);
    const auto add = [&](const std::string& customer, const std::string& path, std::int64_t bytes) {
        auto added = db_->execute(
            "INSERT INTO originals (customer_id, path, bytes, content_type, etag, created_at, "
            "updated_at) VALUES ($1, $2, $3, 'image/png', 'e', 0, 0)",
            {customer, path, bytes});
        ASSERT_TRUE(added) << added.error().detail;
    };
    add("c1", "a.png", 1000);
    add("c1", "dir/b.png", 234);
    add("c2", "a.png", 5);
    EXPECT_EQ(usage.storage_bytes("c1").value(), 1234);
    EXPECT_EQ(usage.storage_bytes("c2").value(), 5);
    EXPECT_EQ(usage.storage_bytes("nobody").value(), 0);
}

} // namespace
} // namespace cdn::db
