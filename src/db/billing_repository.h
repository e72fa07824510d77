#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/** One day's overage report to Stripe for one customer (`meter_reports`). */
struct MeterReport {
    std::string customer_id;
    /** Unix seconds of the UTC day's first second. */
    std::int64_t day = 0;
    /** Sent as the meter event's identifier: the same on every retry. */
    std::string identifier;
    std::int64_t bytes = 0;
    std::optional<std::int64_t> reported_at;
    std::int64_t attempts = 0;
};

/** Webhook events applied and overage reports. Works on a Database or a transaction handle. */
class BillingRepository {
public:
    explicit BillingRepository(Database& db) : db_(db) {}

    /** Records a webhook event id; false when it was recorded before (a replay). Run it in the
     *  transaction that applies the event, so "recorded" and "applied" are one fact. */
    core::Result<bool> record_webhook_event(std::string_view id, std::string_view type,
                                            std::int64_t created, std::int64_t now);
    core::Result<std::int64_t> count_webhook_events();

    /** Adds the report unless one exists for (customer, day), whose bytes and identifier then
     *  stay as first fixed; true when it was added. */
    core::Result<bool> add_meter_report(const MeterReport& report, std::int64_t now);
    /** Reports not yet accepted by Stripe, oldest day first. */
    core::Result<std::vector<MeterReport>> pending_meter_reports();
    core::Result<void> mark_meter_report_sent(std::string_view customer_id, std::int64_t day,
                                              std::int64_t now);
    core::Result<void> mark_meter_report_failed(std::string_view customer_id, std::int64_t day,
                                                std::string_view error);

private:
    Database& db_;
};

} // namespace cdn::db
