#include "billing/overage_reporter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "billing/bandwidth_quota.h"
#include "core/strings.h"
#include "db/customer_repository.h"

namespace cdn::billing {
namespace {

constexpr std::int64_t DAY = 86'400;
/** Stripe accepts meter events up to 35 days old; we look back a little less. */
constexpr std::int64_t LOOKBACK_DAYS = 33;

std::string identifier_for(std::string_view customer_id, std::int64_t day) {
    // "imagecdn-overage-<customer>-YYYY-MM-DD": unique per customer and day, at most 100 chars.
    return "imagecdn-overage-" + std::string(customer_id) + "-" + core::rfc3339(day).substr(0, 10);
}

} // namespace

std::vector<DailyBytes> daily_overage(const std::vector<DailyBytes>& days, std::int64_t quota) {
    std::vector<DailyBytes> overage;
    std::int64_t month = -1;
    std::int64_t served = 0;
    for (const auto& day : days) {
        if (const auto m = month_start(day.day); m != month) {
            month = m;
            served = 0;
        }
        const auto before = std::max<std::int64_t>(0, served - quota);
        served += day.bytes;
        const auto after = std::max<std::int64_t>(0, served - quota);
        if (after > before) {
            overage.push_back({day.day, after - before});
        }
    }
    return overage;
}

OverageReporter::OverageReporter(db::Database& db, StripeClient& stripe,
                                 const account::PlanTable& plans, const core::Clock& clock,
                                 std::string meter_event_name,
                                 std::int64_t settle_seconds)
    : db_(db), stripe_(stripe), plans_(plans), clock_(clock),
      meter_event_name_(std::move(meter_event_name)), settle_seconds_(settle_seconds) {}

core::Result<OverageRun> OverageReporter::run() {
    OverageRun result;
    CDN_TRY(created, create_reports(clock_.unix_seconds()));
    result.reports_created = created;
    return send_pending(result);
}

core::Result<int> OverageReporter::create_reports(std::int64_t now) {
    CDN_TRY(customers, db::CustomerRepository(db_).list_with_stripe_customer());
    int created = 0;
    for (const auto& customer : customers) {
        CDN_TRY_VOID(create_for_customer(customer, now, created));
    }
    return created;
}

core::Result<void> OverageReporter::create_for_customer(const db::CustomerRecord& customer,
                                                        std::int64_t now, int& created) {
    // The current plan's quota decides; plan history is not kept (docs/billing.md).
    const auto& plan = account::plan_named(plans_, customer.plan);
    if (plan.over_quota != "overage") {
        return {};
    }
    const auto end = db::day_start(now - settle_seconds_); // days before this one are finished
    const auto from = month_start(end - LOOKBACK_DAYS * DAY);
    CDN_TRY(buckets, db::UsageRepository(db_).series(customer.id, from, end,
                                                     db::UsageGranularity::Day));
    std::vector<DailyBytes> days;
    days.reserve(buckets.size());
    for (const auto& bucket : buckets) {
        days.push_back({bucket.start, bucket.bytes_out});
    }
    db::BillingRepository reports(db_);
    const auto quota = static_cast<std::int64_t>(plan.bandwidth_quota_bytes);
    for (const auto& day : daily_overage(days, quota)) {
        if (day.day < end - LOOKBACK_DAYS * DAY) {
            continue; // too old for Stripe
        }
        CDN_TRY(added, reports.add_meter_report({.customer_id = customer.id,
                                                 .day = day.day,
                                                 .identifier = identifier_for(customer.id, day.day),
                                                 .bytes = day.bytes},
                                                now));
        created += added ? 1 : 0;
    }
    return {};
}

OverageRun OverageReporter::send_pending(OverageRun run) {
    db::BillingRepository reports(db_);
    db::CustomerRepository customers(db_);
    auto pending = reports.pending_meter_reports();
    if (!pending) {
        spdlog::error("overage: {}", pending.error().detail);
        return run;
    }
    for (const auto& report : *pending) {
        auto customer = customers.find_by_id(report.customer_id);
        if (!customer || !*customer || !(*customer)->stripe_customer_id) {
            continue;
        }
        auto sent = stripe_.send_meter_event(meter_event_name_, *(*customer)->stripe_customer_id,
                                             static_cast<std::uint64_t>(report.bytes),
                                             report.identifier, report.day + DAY - 1);
        const auto now = clock_.unix_seconds();
        if (sent) {
            (void)reports.mark_meter_report_sent(report.customer_id, report.day, now);
            ++run.sent;
            run.bytes_sent += report.bytes;
        } else {
            spdlog::warn("overage report {} not sent: {} ({})", report.identifier,
                         sent.error().message, sent.error().detail);
            (void)reports.mark_meter_report_failed(report.customer_id, report.day,
                                                   sent.error().message);
            ++run.failed;
        }
    }
    return run;
}

} // namespace cdn::billing
