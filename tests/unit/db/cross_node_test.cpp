// Issue 16: what several API nodes writing to one database at once must not break. Each test
// opens the database twice (on PostgreSQL two pools, as two nodes have; on SQLite two handles
// of one file) and races threads of both against each other behind a latch, so the database,
// not a lock in this process, decides who wins.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <latch>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "db/billing_repository.h"
#include "db/original_repository.h"
#include "db/refresh_token_repository.h"
#include "db/storage_reservation_repository.h"
#include "db/upload_token_repository.h"
#include "db/usage_repository.h"
#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::Engine;
using testing::make_customer;

constexpr std::int64_t NOW = 1'700'000'000;
constexpr std::int64_t H0 = NOW - NOW % 3600;
constexpr int RACERS = 8;

class CrossNodeTest : public ::testing::TestWithParam<Engine> {
protected:
    void SetUp() override {
        if (GetParam() == Engine::Sqlite) {
            a_ = testing::open_or_fail(dir_.file("test.db"));
            ASSERT_NE(a_, nullptr);
            ASSERT_NO_FATAL_FAILURE(testing::migrate_or_fail(*a_));
            b_ = testing::open_or_fail(dir_.file("test.db"));
        } else {
            const auto options = testing::fresh_postgres();
            a_ = testing::open_postgres_or_fail(options);
            ASSERT_NE(a_, nullptr);
            ASSERT_NO_FATAL_FAILURE(testing::migrate_or_fail(*a_));
            b_ = testing::open_postgres_or_fail(options);
        }
        ASSERT_NE(b_, nullptr);
        ASSERT_TRUE(CustomerRepository(*a_).insert(make_customer("c1")));
    }

    /** Node A for even racers, node B for odd ones. */
    Database& node(int racer) { return racer % 2 == 0 ? *a_ : *b_; }

    /** Runs `body(node, racer)` on RACERS threads released at once. */
    void race(const std::function<void(Database&, int)>& body) {
        std::latch start(RACERS);
        std::vector<std::thread> threads;
        for (int racer = 0; racer < RACERS; ++racer) {
            threads.emplace_back([&, racer] {
                start.arrive_and_wait();
                body(node(racer), racer);
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
    }

    std::int64_t scalar(const std::string& sql) {
        auto rows = a_->query(sql);
        EXPECT_TRUE(rows) << rows.error().detail;
        return rows && !rows->empty() ? rows->front().integer(0).value_or(-1) : -1;
    }

    testing::TempDir dir_; // declared first: the databases close before their directory goes
    DatabasePtr a_;
    DatabasePtr b_;
};

CDN_ON_EVERY_ENGINE(CrossNodeTest);

TEST_P(CrossNodeTest, OneUploadTokenRacedOnTwoNodesHasOneWinner) {
    ASSERT_TRUE(UploadTokenRepository(*a_).insert({.id = "t1",
                                                   .customer_id = "c1",
                                                   .path = "a.png",
                                                   .content_type = "image/png",
                                                   .max_bytes = 100,
                                                   .created_at = NOW,
                                                   .expires_at = NOW + 900}));
    std::atomic<int> wins{0};
    std::atomic<int> failures{0};
    race([&](Database& db, int) {
        auto consumed = UploadTokenRepository(db).consume("t1", NOW + 1);
        if (!consumed) {
            ++failures;
        } else if (*consumed) {
            ++wins;
        }
    });
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(failures.load(), 0);
}

TEST_P(CrossNodeTest, OneRefreshTokenRacedOnTwoNodesRotatesOnce) {
    ASSERT_TRUE(RefreshTokenRepository(*a_).insert({.id = "r1",
                                                    .family_id = "f1",
                                                    .customer_id = "c1",
                                                    .token_hash = "hash-r1",
                                                    .created_at = NOW,
                                                    .expires_at = NOW + 3600}));
    std::atomic<int> rotated{0};
    std::atomic<int> failures{0};
    race([&](Database& db, int racer) {
        // As POST /auth/refresh rotates: claim the token and issue its successor together.
        bool claimed = false;
        auto done = db.transaction([&](Database& tx) -> core::Result<void> {
            CDN_TRY(won, RefreshTokenRepository(tx).mark_used("r1", NOW + 1));
            claimed = won;
            if (!won) {
                return {};
            }
            const auto id = "r-next-" + std::to_string(racer);
            return RefreshTokenRepository(tx).insert({.id = id,
                                                      .family_id = "f1",
                                                      .customer_id = "c1",
                                                      .token_hash = "hash-" + id,
                                                      .created_at = NOW + 1,
                                                      .expires_at = NOW + 3600});
        });
        if (!done) {
            ++failures;
        } else if (claimed) {
            ++rotated;
        }
    });
    EXPECT_EQ(rotated.load(), 1);
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM refresh_tokens WHERE family_id = 'f1'"), 2);
}

TEST_P(CrossNodeTest, OneWebhookEventDeliveredToTwoNodesIsAppliedOnce) {
    std::atomic<int> applied{0};
    std::atomic<int> failures{0};
    race([&](Database& db, int) {
        // As the webhook route applies an event: record its id and apply it in one transaction.
        bool fresh = false;
        auto done = db.transaction([&](Database& tx) -> core::Result<void> {
            CDN_TRY(first, BillingRepository(tx).record_webhook_event("evt_1", "invoice.paid",
                                                                      NOW, NOW + 1));
            fresh = first;
            if (!first) {
                return {};
            }
            CDN_TRY_VOID(tx.execute("UPDATE customers SET invoice_event_at = invoice_event_at + 1 "
                                    "WHERE id = 'c1'"));
            return {};
        });
        if (!done) {
            ++failures;
        } else if (fresh) {
            ++applied;
        }
    });
    EXPECT_EQ(applied.load(), 1);
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(scalar("SELECT invoice_event_at FROM customers WHERE id = 'c1'"), 1);
    EXPECT_EQ(BillingRepository(*a_).count_webhook_events().value(), 1);
}

TEST_P(CrossNodeTest, UsageFlushesOfTheSameHoursOnTwoNodesAllCount) {
    std::atomic<int> failures{0};
    race([&](Database& db, int) {
        // Rows of one hour twice and of two customers: each flush is one multi-row upsert.
        const std::vector<UsageDelta> flush{{"c1", H0, 1, 100, 1, 0, 0},
                                            {"c1", H0 + 60, 2, 10, 0, 1, 0},
                                            {"c2", H0 + 3600, 1, 1, 0, 0, 1}};
        failures += UsageRepository(db).add_hourly(flush) ? 0 : 1;
    });
    EXPECT_EQ(failures.load(), 0);
    UsageRepository usage(*a_);
    EXPECT_EQ(usage.totals("c1", H0, H0 + 3600).value(),
              (UsageBucket{.start = H0,
                           .requests = 3 * RACERS,
                           .bytes_out = 110 * RACERS,
                           .transforms = RACERS,
                           .cache_hits = RACERS,
                           .errors = 0}));
    EXPECT_EQ(usage.totals("c2", H0, H0 + 7200).value().errors, RACERS);
}

/** As an upload reserves: its path, then the quota counting every other write in progress. */
core::Result<bool> reserve_within(Database& db, const StorageReservation& wanted,
                                  std::int64_t quota) {
    bool reserved = false;
    CDN_TRY_VOID(db.transaction([&](Database& tx) -> core::Result<void> {
        StorageReservationRepository reservations(tx);
        CDN_TRY(held, reservations.try_hold(wanted, NOW));
        CDN_TRY(others, reservations.held_bytes_except(wanted.customer_id, wanted.path, NOW));
        reserved = held && others + wanted.bytes <= quota;
        // Refused: undo the hold with everything else (errors roll back).
        return reserved ? core::Result<void>{}
                        : core::make_error(core::Errc::StorageQuotaExceeded, "over");
    }));
    return reserved;
}

TEST_P(CrossNodeTest, UploadsRacedOnTwoNodesStayWithinTheStorageQuota) {
    // 300 bytes stored; room for three more uploads of 100 bytes under a quota of 600.
    ASSERT_TRUE(OriginalRepository(*a_).upsert(
        "c1", {.path = "old.png", .bytes = 300, .content_type = "image/png", .etag = "e"}));
    std::atomic<int> reserved{0};
    std::atomic<int> refused{0};
    std::atomic<int> failures{0};
    race([&](Database& db, int racer) {
        const StorageReservation wanted{.customer_id = "c1",
                                        .path = "new-" + std::to_string(racer) + ".png",
                                        .id = "id-" + std::to_string(racer),
                                        .bytes = 100,
                                        .expires_at = NOW + 300};
        auto done = reserve_within(db, wanted, 600);
        if (done) {
            ++reserved;
        } else if (done.error().code == core::Errc::StorageQuotaExceeded) {
            ++refused;
        } else {
            ++failures;
            ADD_FAILURE() << done.error().detail;
        }
    });
    EXPECT_EQ(reserved.load(), 3);
    EXPECT_EQ(refused.load(), RACERS - 3);
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(StorageReservationRepository(*a_).held_bytes_except("c1", "", NOW).value(), 600);
}

TEST_P(CrossNodeTest, OnePathIsHeldByOneWriteAtATime) {
    const StorageReservation first{.customer_id = "c1",
                                   .path = "a.png",
                                   .id = "first",
                                   .bytes = 10,
                                   .expires_at = NOW + 300};
    auto second = first;
    second.id = "second";
    StorageReservationRepository on_a(*a_);
    StorageReservationRepository on_b(*b_);
    EXPECT_TRUE(on_a.try_hold(first, NOW).value());
    EXPECT_FALSE(on_b.try_hold(second, NOW + 1).value());
    // Only its holder ends it.
    EXPECT_FALSE(on_b.release(second).value());
    EXPECT_TRUE(on_a.release(first).value());
    EXPECT_TRUE(on_b.try_hold(second, NOW + 2).value());
    // A holder that died leaves it to expire; then the path is free again.
    EXPECT_FALSE(on_a.try_hold(first, NOW + 299).value());
    EXPECT_TRUE(on_a.try_hold(first, NOW + 300).value());
    EXPECT_FALSE(on_b.release(second).value());
}

TEST_P(CrossNodeTest, HeldBytesCountTheLargerOfEachPathsOriginalAndReservation) {
    OriginalRepository originals(*a_);
    ASSERT_TRUE(originals.upsert("c1", {.path = "a", .bytes = 50, .etag = "e"}));
    ASSERT_TRUE(originals.upsert("c1", {.path = "b", .bytes = 70, .etag = "e"}));
    StorageReservationRepository reservations(*b_);
    // a grows to 80, b shrinks to 20, c is new at 5; an expired one holds nothing.
    for (const auto& [path, bytes, expires] :
         std::vector<std::tuple<std::string, std::int64_t, std::int64_t>>{
             {"a", 80, NOW + 300}, {"b", 20, NOW + 300}, {"c", 5, NOW + 300}, {"d", 99, NOW}}) {
        ASSERT_TRUE(reservations
                        .try_hold({.customer_id = "c1",
                                   .path = path,
                                   .id = path,
                                   .bytes = bytes,
                                   .expires_at = expires},
                                  NOW - 1)
                        .value());
    }
    EXPECT_EQ(reservations.held_bytes_except("c1", "", NOW).value(), 80 + 70 + 5);
    EXPECT_EQ(reservations.held_bytes_except("c1", "a", NOW).value(), 70 + 5);
    EXPECT_EQ(reservations.held_bytes_except("c1", "b", NOW).value(), 80 + 5);
    EXPECT_EQ(reservations.held_bytes_except("nobody", "", NOW).value(), 0);
}

} // namespace
} // namespace cdn::db
