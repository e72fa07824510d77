#include "db/usage_repository.h"

#include <gtest/gtest.h>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::MigratedTest;

constexpr std::int64_t H0 = 1'700'000'000 - 1'700'000'000 % 3600;
constexpr std::int64_t HOUR = 3600;

TEST(HourStart, FloorsToTheHour) {
    EXPECT_EQ(hour_start(H0), H0);
    EXPECT_EQ(hour_start(H0 + 3599), H0);
    EXPECT_EQ(hour_start(H0 + 3600), H0 + HOUR);
    EXPECT_EQ(hour_start(-1), -3600);
}

TEST_F(MigratedTest, AddHourlyAddsToExistingCounters) {
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

TEST_F(MigratedTest, SumBytesOutCoversAHalfOpenRangeOfOneCustomer) {
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

TEST_F(MigratedTest, AFailedBatchAddsNothing) {
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

} // namespace
} // namespace cdn::db
