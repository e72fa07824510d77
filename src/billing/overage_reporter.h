#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "account/plan.h"
#include "billing/stripe_client.h"
#include "core/clock.h"
#include "db/billing_repository.h"
#include "db/customer_repository.h"
#include "db/database.h"
#include "db/usage_repository.h"

namespace cdn::billing {

/** One UTC day's bytes served (usage_hourly summed per day). */
struct DailyBytes {
    std::int64_t day = 0;
    std::int64_t bytes = 0;
};

/**
 * The bytes beyond `quota` each day added, month by month: with B(d) the bytes served from the
 * start of d's calendar month through day d, day d's overage is max(0, B(d) − quota) −
 * max(0, B(d−1) − quota). Summed over a month it is exactly that month's overage. `days` in
 * ascending order; only days with overage are returned.
 */
std::vector<DailyBytes> daily_overage(const std::vector<DailyBytes>& days, std::int64_t quota);

/** What one reporting run did. */
struct OverageRun {
    int reports_created = 0;
    int sent = 0;
    int failed = 0;
    std::int64_t bytes_sent = 0;
};

/**
 * Reports paid plans' overage to Stripe as one meter event per customer and UTC day
 * (api.md Billing). Two phases, so that nothing is billed twice: first a `meter_reports` row is
 * fixed for every finished day with overage (its bytes and identifier never change again), then
 * every row Stripe has not accepted is sent with its identifier as the meter event's
 * `identifier` and Idempotency-Key. A failed send stays pending and is retried by the next run
 * with the same identifier; Stripe drops a duplicate identifier.
 *
 * A day is reported once it ended `settle_seconds` ago (late usage flushes have landed).
 * Blocking: database and Stripe calls.
 */
class OverageReporter {
public:
    OverageReporter(db::Database& db, StripeClient& stripe, const account::PlanTable& plans,
                    const core::Clock& clock, std::string meter_event_name,
                    std::int64_t settle_seconds = 3600);

    core::Result<OverageRun> run();

private:
    core::Result<int> create_reports(std::int64_t now);
    core::Result<void> create_for_customer(const db::CustomerRecord& customer, std::int64_t now,
                                           int& created);
    OverageRun send_pending(OverageRun run);

    db::Database& db_;
    StripeClient& stripe_;
    const account::PlanTable& plans_;
    const core::Clock& clock_;
    std::string meter_event_name_;
    std::int64_t settle_seconds_;
};

} // namespace cdn::billing
