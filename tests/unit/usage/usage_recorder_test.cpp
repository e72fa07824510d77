#include "usage/usage_recorder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "db/migrations.h"
#include "db/sqlite_database.h"
#include "fake_clock.h"
#include "temp_dir.h"

namespace cdn::usage {
namespace {

using namespace std::chrono_literals;
using cdn::test::FakeClock;

/** A real database whose transactions can be made to fail, as an outage would; it also
 *  reports each transaction so a test can wait for the background flusher. */
class FlakyDatabase final : public db::Database {
public:
    explicit FlakyDatabase(db::Database& real) : real_(real) {}

    std::atomic<bool> failing{false};

    core::Result<db::Rows> query(std::string_view sql, std::vector<db::Value> params) override {
        return real_.query(sql, std::move(params));
    }
    core::Result<std::int64_t> execute(std::string_view sql,
                                       std::vector<db::Value> params) override {
        return real_.execute(sql, std::move(params));
    }
    core::Result<void> transaction(const TransactionBody& body) override {
        auto result =
            failing
                ? core::Result<void>(db::database_error(core::Errc::Unavailable, "disk I/O error"))
                : real_.transaction(body);
        {
            const std::lock_guard lock(mutex_);
            ++transactions_;
        }
        done_.notify_all();
        return result;
    }
    core::Result<void> check() override { return real_.check(); }
    core::Result<void> backup_to(const std::string& file) override { return real_.backup_to(file); }
    std::string_view dialect() const override { return real_.dialect(); }

    /** Waits (up to 10 s) until `count` transactions have run. */
    bool wait_for_transactions(int count) {
        std::unique_lock lock(mutex_);
        return done_.wait_for(lock, 10s, [&] { return transactions_ >= count; });
    }

private:
    db::Database& real_;
    std::mutex mutex_;
    std::condition_variable done_;
    int transactions_ = 0;
};

struct HourRow {
    std::string customer_id;
    std::int64_t hour, requests, bytes_out, transforms, cache_hits, errors;
    bool operator==(const HourRow&) const = default;
};

std::ostream& operator<<(std::ostream& os, const HourRow& r) {
    return os << r.customer_id << "@" << r.hour << " req=" << r.requests << " bytes=" << r.bytes_out
              << " tr=" << r.transforms << " hit=" << r.cache_hits << " err=" << r.errors;
}

class UsageRecorderTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = db::SqliteDatabase::open(dir_.path() + "/usage.db");
        ASSERT_TRUE(opened) << opened.error().detail;
        sqlite_ = std::move(*opened);
        auto migrated = db::migrate(*sqlite_, clock_);
        ASSERT_TRUE(migrated) << migrated.error().detail;
        flaky_ = std::make_unique<FlakyDatabase>(*sqlite_);
    }

    std::vector<HourRow> rows() {
        auto result = sqlite_->query("SELECT customer_id, hour, requests, bytes_out, transforms, "
                                     "cache_hits, errors FROM usage_hourly "
                                     "ORDER BY customer_id, hour");
        EXPECT_TRUE(result) << result.error().detail;
        std::vector<HourRow> out;
        for (const auto& row : result ? *result : db::Rows{}) {
            out.push_back({*row.text(0), *row.integer(1), *row.integer(2), *row.integer(3),
                           *row.integer(4), *row.integer(5), *row.integer(6)});
        }
        return out;
    }

    std::int64_t this_hour() const { return db::hour_start(clock_.unix_seconds()); }

    FakeClock clock_;
    cdn::test::TempDir dir_; // declared before the database, so it is removed after it closes
    db::DatabasePtr sqlite_;
    std::unique_ptr<FlakyDatabase> flaky_;
};

TEST_F(UsageRecorderTest, CountsAggregatePerCustomerHourAndLandOnFlush) {
    UsageRecorder recorder(*flaky_, clock_, 5000ms);
    recorder.record({"c1", 100, true, false, false});
    recorder.record({"c1", 50, false, true, false});
    recorder.record({"c1", 0, false, false, true});
    recorder.record({"c2", 7, false, true, false});
    EXPECT_EQ(recorder.pending_events(), 4U);
    EXPECT_TRUE(rows().empty()) << "record() never writes";

    ASSERT_TRUE(recorder.flush());
    EXPECT_EQ(recorder.pending_events(), 0U);
    const std::int64_t hour = this_hour();
    EXPECT_EQ(rows(),
              (std::vector<HourRow>{{"c1", hour, 3, 150, 1, 1, 1}, {"c2", hour, 1, 7, 0, 1, 0}}));
}

TEST_F(UsageRecorderTest, TwoHoursStaySeparate) {
    UsageRecorder recorder(*flaky_, clock_, 5000ms);
    const std::int64_t first = this_hour();
    recorder.record({"c1", 10, false, false, false});
    clock_.advance(1h);
    recorder.record({"c1", 20, false, false, false});
    ASSERT_TRUE(recorder.flush());
    EXPECT_EQ(rows(), (std::vector<HourRow>{{"c1", first, 1, 10, 0, 0, 0},
                                            {"c1", first + 3600, 1, 20, 0, 0, 0}}));
}

TEST_F(UsageRecorderTest, SuccessiveFlushesAdd) {
    UsageRecorder recorder(*flaky_, clock_, 5000ms);
    recorder.record({"c1", 10, false, false, false});
    ASSERT_TRUE(recorder.flush());
    recorder.record({"c1", 5, false, false, false});
    ASSERT_TRUE(recorder.flush());
    ASSERT_TRUE(recorder.flush()); // nothing pending: writes nothing
    EXPECT_EQ(rows(), (std::vector<HourRow>{{"c1", this_hour(), 2, 15, 0, 0, 0}}));
}

TEST_F(UsageRecorderTest, FailedFlushKeepsCountsForTheNextOneWhichWritesThemOnce) {
    UsageRecorder recorder(*flaky_, clock_, 5000ms);
    recorder.record({"c1", 10, true, false, false});
    recorder.record({"c2", 1, false, false, false});

    flaky_->failing = true;
    auto failed = recorder.flush();
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, core::Errc::Unavailable);
    EXPECT_EQ(recorder.pending_events(), 2U);
    EXPECT_TRUE(rows().empty());

    // Recorded during the outage: merged with what the failed flush put back.
    recorder.record({"c1", 5, false, true, false});
    recorder.record({"c3", 3, false, false, true});
    flaky_->failing = false;
    ASSERT_TRUE(recorder.flush());
    ASSERT_TRUE(recorder.flush());
    const std::int64_t hour = this_hour();
    EXPECT_EQ(rows(), (std::vector<HourRow>{{"c1", hour, 2, 15, 1, 1, 0},
                                            {"c2", hour, 1, 1, 0, 0, 0},
                                            {"c3", hour, 1, 3, 0, 0, 1}}));
    EXPECT_EQ(recorder.pending_events(), 0U);
}

TEST_F(UsageRecorderTest, FlushLagGrowsUntilAFlushSucceeds) {
    UsageRecorder recorder(*flaky_, clock_, 5000ms);
    recorder.record({"c1", 1, false, false, false});
    clock_.advance(3s);
    EXPECT_EQ(recorder.flush_lag(), 3000ms);

    flaky_->failing = true;
    ASSERT_FALSE(recorder.flush());
    clock_.advance(2s);
    EXPECT_EQ(recorder.flush_lag(), 5000ms);

    flaky_->failing = false;
    ASSERT_TRUE(recorder.flush());
    EXPECT_EQ(recorder.flush_lag(), 0ms);
}

TEST_F(UsageRecorderTest, StopFlushesWhatIsPending) {
    UsageRecorder recorder(*flaky_, clock_, std::chrono::hours(1));
    recorder.start();
    recorder.record({"c1", 42, false, false, false});
    recorder.stop();
    EXPECT_EQ(rows(), (std::vector<HourRow>{{"c1", this_hour(), 1, 42, 0, 0, 0}}));
    EXPECT_EQ(recorder.pending_events(), 0U);
}

TEST_F(UsageRecorderTest, DestructionFlushesWithoutStart) {
    {
        UsageRecorder recorder(*flaky_, clock_, 5000ms);
        recorder.record({"c1", 9, false, false, false});
    }
    EXPECT_EQ(rows(), (std::vector<HourRow>{{"c1", this_hour(), 1, 9, 0, 0, 0}}));
}

TEST_F(UsageRecorderTest, BackgroundThreadFlushesEveryInterval) {
    UsageRecorder recorder(*flaky_, clock_, 1ms);
    recorder.record({"c1", 8, false, false, false});
    recorder.start();
    // Waits on the flush itself (condition variable), not on a guessed sleep.
    ASSERT_TRUE(flaky_->wait_for_transactions(1));
    EXPECT_EQ(rows(), (std::vector<HourRow>{{"c1", this_hour(), 1, 8, 0, 0, 0}}));
    recorder.stop();
}

TEST_F(UsageRecorderTest, ConcurrentRecordsLoseNoCounts) {
    constexpr int THREADS = 8;
    constexpr int PER_THREAD = 5000;
    UsageRecorder recorder(*flaky_, clock_, 5000ms);
    std::atomic<bool> done{false};
    // Flushes (some failing) race the writers, to exercise take-and-merge under contention.
    std::thread flusher([&] {
        for (int i = 0; !done; ++i) {
            flaky_->failing = (i % 3 == 0);
            (void)recorder.flush();
        }
        flaky_->failing = false;
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < THREADS; ++t) {
        writers.emplace_back([&recorder, t] {
            const std::string customer = "c" + std::to_string(t % 2);
            for (int i = 0; i < PER_THREAD; ++i) {
                recorder.record({customer, 3, i % 2 == 0, false, false});
            }
        });
    }
    for (auto& w : writers) {
        w.join();
    }
    done = true;
    flusher.join();
    ASSERT_TRUE(recorder.flush());

    const std::int64_t per_customer = THREADS / 2 * PER_THREAD;
    const std::int64_t hour = this_hour();
    EXPECT_EQ(rows(), (std::vector<HourRow>{
                          {"c0", hour, per_customer, 3 * per_customer, per_customer / 2, 0, 0},
                          {"c1", hour, per_customer, 3 * per_customer, per_customer / 2, 0, 0}}));
}

} // namespace
} // namespace cdn::usage
