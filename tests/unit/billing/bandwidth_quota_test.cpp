#include "billing/bandwidth_quota.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "db/migrations.h"
#include "db/sqlite_database.h"
#include "fake_clock.h"
#include "temp_dir.h"

namespace cdn::billing {
namespace {

using namespace std::chrono_literals;
using cdn::test::FakeClock;

constexpr std::int64_t NOV_2023 = 1'698'796'800; // the FakeClock's default time is in it
constexpr std::int64_t DEC_2023 = 1'701'388'800;

/** The real database, with a hook run before each query and a switch that fails queries,
 *  as an outage would. */
class HookedDatabase final : public db::Database {
public:
    explicit HookedDatabase(db::Database& real) : real_(real) {}

    std::function<void()> on_query = [] {};
    std::atomic<bool> failing{false};

    core::Result<db::Rows> query(std::string_view sql, std::vector<db::Value> params) override {
        on_query();
        if (failing) {
            return db::database_error(core::Errc::Unavailable, "connection refused");
        }
        return real_.query(sql, std::move(params));
    }
    core::Result<std::int64_t> execute(std::string_view sql,
                                       std::vector<db::Value> params) override {
        return real_.execute(sql, std::move(params));
    }
    core::Result<void> transaction(const TransactionBody& body) override {
        return real_.transaction(body);
    }
    core::Result<void> check() override { return real_.check(); }
    core::Result<void> backup_to(const std::string& file) override { return real_.backup_to(file); }
    std::string_view dialect() const override { return real_.dialect(); }

private:
    db::Database& real_;
};

account::Plan free_plan() {
    return account::Plan{.name = "free", .bandwidth_quota_bytes = 1000, .over_quota = "block"};
}
account::Plan paid_plan() {
    return account::Plan{.name = "pro", .bandwidth_quota_bytes = 1000, .over_quota = "overage"};
}

class BandwidthQuotaTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = db::SqliteDatabase::open(dir_.path() + "/quota.db");
        ASSERT_TRUE(opened) << opened.error().detail;
        sqlite_ = std::move(*opened);
        auto migrated = db::migrate(*sqlite_, clock_);
        ASSERT_TRUE(migrated) << migrated.error().detail;
        hooked_ = std::make_unique<HookedDatabase>(*sqlite_);
        repository_ = std::make_unique<db::UsageRepository>(*hooked_);
        recorder_ = std::make_unique<usage::UsageRecorder>(*sqlite_, clock_, 1h);
        quota_ = std::make_unique<BandwidthQuota>(*repository_, *recorder_, clock_, 30s);
    }
    void TearDown() override {
        quota_.reset();
        recorder_.reset(); // flushes, while the database is still open
    }

    /** Bytes another node (or an earlier flush) already wrote for `hour`. */
    void store(std::string_view customer, std::int64_t bytes, std::int64_t hour) {
        ASSERT_TRUE(db::UsageRepository(*sqlite_).add_hourly(
            {{.customer_id = std::string(customer), .hour = hour, .bytes_out = bytes}}));
    }
    void store(std::string_view customer, std::int64_t bytes) {
        store(customer, bytes, clock_.unix_seconds());
    }
    /** What the edge does for each response: meter it, then count it against the quota. */
    void serve(std::string_view customer, std::int64_t bytes) {
        recorder_->record({customer, static_cast<std::uint64_t>(bytes)});
        quota_->add(customer, bytes);
    }
    QuotaDecision refresh(std::string_view customer, const account::Plan& plan = free_plan()) {
        auto decision = quota_->refresh(customer, plan);
        EXPECT_TRUE(decision) << decision.error().detail;
        return decision ? *decision : QuotaDecision{.allowed = false, .used_bytes = -1};
    }
    std::int64_t used(std::string_view customer) {
        const auto decision = quota_->check(customer, free_plan());
        EXPECT_TRUE(decision) << "not cached: " << customer;
        return decision ? decision->used_bytes : -1;
    }
    void advance_to(std::int64_t unix_seconds) {
        clock_.advance(std::chrono::seconds(unix_seconds - clock_.unix_seconds()));
    }

    FakeClock clock_;
    cdn::test::TempDir dir_; // declared before the database, so it is removed after it closes
    db::DatabasePtr sqlite_;
    std::unique_ptr<HookedDatabase> hooked_;
    std::unique_ptr<db::UsageRepository> repository_;
    std::unique_ptr<usage::UsageRecorder> recorder_;
    std::unique_ptr<BandwidthQuota> quota_;
};

TEST(MonthStart, IsTheFirstUtcSecondOfTheCalendarMonth) {
    EXPECT_EQ(month_start(1'700'000'000), NOV_2023);
    EXPECT_EQ(month_start(NOV_2023), NOV_2023);
    EXPECT_EQ(month_start(NOV_2023 - 1), 1'696'118'400); // 1 October
    EXPECT_EQ(month_start(1'709'208'000), 1'706'745'600); // 29 Feb 2024 -> 1 Feb
    EXPECT_EQ(month_start(1'709'251'200), 1'709'251'200); // 1 Mar 2024
    EXPECT_EQ(month_start(1'704'067'199), DEC_2023);      // 31 Dec 23:59:59
    EXPECT_EQ(month_start(-1), -2'678'400);               // 1 Dec 1969
}

TEST_F(BandwidthQuotaTest, NothingIsCachedUntilARefresh) {
    EXPECT_FALSE(quota_->check("c1", free_plan()));
    EXPECT_EQ(quota_->refreshes(), 0U);
    const QuotaDecision decision = refresh("c1");
    EXPECT_TRUE(decision.allowed);
    EXPECT_FALSE(decision.over_quota);
    EXPECT_EQ(decision.used_bytes, 0);
    EXPECT_TRUE(quota_->check("c1", free_plan()));
    EXPECT_EQ(quota_->refreshes(), 1U);
}

TEST_F(BandwidthQuotaTest, UnderQuotaIsAllowedAndCountsDatabasePlusPending) {
    store("c1", 400);
    serve("c1", 100); // not yet flushed
    store("c2", 900); // someone else's
    const QuotaDecision decision = refresh("c1");
    EXPECT_TRUE(decision.allowed);
    EXPECT_FALSE(decision.over_quota);
    EXPECT_EQ(decision.used_bytes, 500);
    EXPECT_EQ(used("c1"), 500);
}

TEST_F(BandwidthQuotaTest, FreePlanAtOrOverQuotaIsBlocked) {
    store("c1", 1000);
    const QuotaDecision decision = refresh("c1", free_plan());
    EXPECT_FALSE(decision.allowed);
    EXPECT_TRUE(decision.over_quota);
    EXPECT_EQ(decision.used_bytes, 1000);
    const auto cached = quota_->check("c1", free_plan());
    ASSERT_TRUE(cached);
    EXPECT_FALSE(cached->allowed);
}

TEST_F(BandwidthQuotaTest, PaidPlanOverQuotaIsServedAsOverage) {
    store("c1", 1500);
    const QuotaDecision decision = refresh("c1", paid_plan());
    EXPECT_TRUE(decision.allowed);
    EXPECT_TRUE(decision.over_quota);
    EXPECT_EQ(decision.used_bytes, 1500);
    const auto cached = quota_->check("c1", paid_plan());
    ASSERT_TRUE(cached);
    EXPECT_TRUE(cached->allowed);
    EXPECT_TRUE(cached->over_quota);
}

TEST_F(BandwidthQuotaTest, AddCountsAtOnceWithoutARefresh) {
    refresh("c1");
    serve("c1", 600);
    EXPECT_EQ(used("c1"), 600);
    serve("c1", 400);
    const auto decision = quota_->check("c1", free_plan());
    ASSERT_TRUE(decision);
    EXPECT_FALSE(decision->allowed) << "the burst reached the quota on this node";
    EXPECT_EQ(decision->used_bytes, 1000);
    EXPECT_EQ(quota_->refreshes(), 1U);
}

TEST_F(BandwidthQuotaTest, AddForAnUncachedCustomerIsLeftToItsRefresh) {
    serve("c1", 300); // recorded, so the refresh sees it as pending
    EXPECT_FALSE(quota_->check("c1", free_plan()));
    EXPECT_EQ(refresh("c1").used_bytes, 300);
}

TEST_F(BandwidthQuotaTest, RefreshAfterFlushDoesNotDoubleCount) {
    serve("c1", 300);
    EXPECT_EQ(refresh("c1").used_bytes, 300);
    serve("c1", 200); // added since the refresh, and pending in the recorder
    EXPECT_EQ(used("c1"), 500);
    EXPECT_EQ(refresh("c1").used_bytes, 500) << "pending read again, adds since reset";
    ASSERT_TRUE(recorder_->flush());
    EXPECT_EQ(used("c1"), 500);
    EXPECT_EQ(refresh("c1").used_bytes, 500) << "moved from pending to the database";
    EXPECT_EQ(refresh("c1").used_bytes, 500);
}

TEST_F(BandwidthQuotaTest, BytesServedDuringTheDatabaseReadStillCount) {
    serve("c1", 100);
    refresh("c1");
    bool once = true;
    hooked_->on_query = [&] {
        if (std::exchange(once, false)) {
            serve("c1", 50); // after the pending read, before the database answers
        }
    };
    clock_.advance(30s);
    EXPECT_EQ(refresh("c1").used_bytes, 150);
    EXPECT_EQ(used("c1"), 150);
    ASSERT_TRUE(recorder_->flush());
    EXPECT_EQ(refresh("c1").used_bytes, 150);
}

TEST_F(BandwidthQuotaTest, OtherMonthsDoNotCount) {
    store("c1", 5000, NOV_2023 - 1); // last second of October
    store("c1", 7000, DEC_2023);     // next month (a node whose clock runs ahead)
    store("c1", 10, NOV_2023);
    EXPECT_EQ(refresh("c1").used_bytes, 10);
}

TEST_F(BandwidthQuotaTest, ANewMonthStartsFromZero) {
    store("c1", 800);
    serve("c1", 300); // pending, in a November hour
    EXPECT_FALSE(refresh("c1").allowed);

    advance_to(DEC_2023);
    EXPECT_FALSE(quota_->check("c1", free_plan())) << "November's figure answers nothing";
    serve("c1", 5); // December's: counted once, through the recorder, by the refresh
    const QuotaDecision december = refresh("c1");
    EXPECT_TRUE(december.allowed);
    EXPECT_EQ(december.used_bytes, 5) << "November's pending and stored bytes stay in November";
    serve("c1", 20);
    EXPECT_EQ(used("c1"), 25);
}

TEST_F(BandwidthQuotaTest, AFigureGoesStaleAfterTheRefreshInterval) {
    refresh("c1");
    clock_.advance(29'999ms);
    EXPECT_TRUE(quota_->check("c1", free_plan()));
    clock_.advance(1ms);
    EXPECT_FALSE(quota_->check("c1", free_plan()));
    store("c1", 70);
    EXPECT_EQ(refresh("c1").used_bytes, 70);
    EXPECT_EQ(used("c1"), 70);
    EXPECT_EQ(quota_->refreshes(), 2U);
}

TEST_F(BandwidthQuotaTest, AFailedRefreshLeavesTheOldFigureToGoStale) {
    store("c1", 70);
    refresh("c1");
    hooked_->failing = true;
    auto failed = quota_->refresh("c1", free_plan());
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, core::Errc::Unavailable);
    EXPECT_EQ(used("c1"), 70) << "still within its interval";
    clock_.advance(30s);
    EXPECT_FALSE(quota_->check("c1", free_plan()));
    EXPECT_FALSE(quota_->refresh("c1", free_plan()));
    hooked_->failing = false;
    EXPECT_EQ(refresh("c1").used_bytes, 70);
}

TEST_F(BandwidthQuotaTest, LookUpAsksToRefreshFirstWhenThereIsNoFigure) {
    const auto lookup = quota_->look_up("c1", free_plan());
    EXPECT_FALSE(lookup.decision);
    EXPECT_TRUE(lookup.refresh);
}

TEST_F(BandwidthQuotaTest, LookUpDecidesOnAStaleFigureAndHandsOutOneBackgroundRefresh) {
    store("c1", 1200);
    refresh("c1");
    auto fresh = quota_->look_up("c1", free_plan());
    ASSERT_TRUE(fresh.decision);
    EXPECT_FALSE(fresh.refresh);

    clock_.advance(31s);
    hooked_->failing = true; // the database is gone: hits must still be decided
    auto first = quota_->look_up("c1", free_plan());
    ASSERT_TRUE(first.decision);
    EXPECT_EQ(first.decision->used_bytes, 1200);
    EXPECT_FALSE(first.decision->allowed) << "a stale figure still blocks an over-quota account";
    EXPECT_TRUE(first.refresh);
    ASSERT_FALSE(quota_->refresh("c1", free_plan())); // that refresh fails

    auto second = quota_->look_up("c1", free_plan());
    ASSERT_TRUE(second.decision);
    EXPECT_FALSE(second.refresh) << "one background refresh per interval, not one per request";
    clock_.advance(30s);
    EXPECT_TRUE(quota_->look_up("c1", free_plan()).refresh) << "the next interval tries again";

    hooked_->failing = false;
    store("c1", 100); // another node's flush meanwhile
    ASSERT_TRUE(quota_->refresh("c1", free_plan()));
    auto after = quota_->look_up("c1", free_plan());
    ASSERT_TRUE(after.decision);
    EXPECT_EQ(after.decision->used_bytes, 1300);
    EXPECT_FALSE(after.refresh);
}

TEST_F(BandwidthQuotaTest, MemoryIsBoundedStaleEntriesFirst) {
    BandwidthQuota quota(*repository_, *recorder_, clock_, 30s, 4);
    const auto cached = [&](std::string_view c) { return quota.check(c, free_plan()).has_value(); };
    for (const char* c : {"a", "b", "c", "d"}) {
        ASSERT_TRUE(quota.refresh(c, free_plan()));
    }
    clock_.advance(31s);
    ASSERT_TRUE(quota.refresh("a", free_plan()));
    ASSERT_TRUE(quota.refresh("b", free_plan()));
    ASSERT_TRUE(quota.refresh("e", free_plan())); // full: drops stale c and d
    EXPECT_TRUE(cached("a"));
    EXPECT_TRUE(cached("b"));
    EXPECT_TRUE(cached("e"));

    ASSERT_TRUE(quota.refresh("f", free_plan()));
    ASSERT_TRUE(quota.refresh("g", free_plan())); // full of fresh entries: starts over
    EXPECT_FALSE(cached("a"));
    EXPECT_FALSE(cached("f"));
    EXPECT_TRUE(cached("g"));
}

TEST_F(BandwidthQuotaTest, ConcurrentServingRefreshingAndFlushingAddUp) {
    constexpr int THREADS = 4;
    constexpr int PER_THREAD = 2000;
    refresh("c1", paid_plan());
    std::atomic<bool> done{false};
    std::thread background([&] {
        while (!done) {
            (void)quota_->refresh("c1", paid_plan());
            (void)recorder_->flush();
        }
    });
    std::vector<std::thread> edges;
    for (int t = 0; t < THREADS; ++t) {
        edges.emplace_back([&] {
            for (int i = 0; i < PER_THREAD; ++i) {
                serve("c1", 3);
                (void)quota_->check("c1", paid_plan());
            }
        });
    }
    for (auto& e : edges) {
        e.join();
    }
    done = true;
    background.join();
    ASSERT_TRUE(recorder_->flush());
    EXPECT_EQ(refresh("c1", paid_plan()).used_bytes, 3 * THREADS * PER_THREAD);
    EXPECT_EQ(used("c1"), 3 * THREADS * PER_THREAD);
}

} // namespace
} // namespace cdn::billing
