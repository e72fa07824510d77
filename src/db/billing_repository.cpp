#include "db/billing_repository.h"

#include "db/values.h"

namespace cdn::db {
namespace {

constexpr std::string_view REPORT_COLUMNS =
    "customer_id, day, identifier, bytes, reported_at, attempts";

MeterReport to_report(const Row& row) {
    return MeterReport{
        .customer_id = row.text(0).value_or(""),
        .day = row.integer(1).value_or(0),
        .identifier = row.text(2).value_or(""),
        .bytes = row.integer(3).value_or(0),
        .reported_at = row.integer(4),
        .attempts = row.integer(5).value_or(0),
    };
}

} // namespace

core::Result<bool> BillingRepository::record_webhook_event(std::string_view id,
                                                           std::string_view type,
                                                           std::int64_t created,
                                                           std::int64_t now) {
    CDN_TRY(inserted, db_.execute("INSERT INTO webhook_events (id, type, created, processed_at) "
                                  "VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                                  {text_value(id), text_value(type), created, now}));
    return inserted > 0;
}

core::Result<std::int64_t> BillingRepository::count_webhook_events() {
    CDN_TRY(rows, db_.query("SELECT COUNT(*) FROM webhook_events"));
    return rows.empty() ? 0 : rows.front().integer(0).value_or(0);
}

core::Result<bool> BillingRepository::add_meter_report(const MeterReport& report,
                                                      std::int64_t now) {
    CDN_TRY(inserted, db_.execute(
        "INSERT INTO meter_reports (customer_id, day, identifier, bytes, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (customer_id, day) DO NOTHING",
        {report.customer_id, report.day, report.identifier, report.bytes, now}));
    return inserted > 0;
}

core::Result<std::vector<MeterReport>> BillingRepository::pending_meter_reports() {
    std::string sql = "SELECT ";
    sql.append(REPORT_COLUMNS)
        .append(" FROM meter_reports WHERE reported_at IS NULL ORDER BY day, customer_id");
    CDN_TRY(rows, db_.query(sql));
    std::vector<MeterReport> reports;
    reports.reserve(rows.size());
    for (const auto& row : rows) {
        reports.push_back(to_report(row));
    }
    return reports;
}

core::Result<void> BillingRepository::mark_meter_report_sent(std::string_view customer_id,
                                                             std::int64_t day, std::int64_t now) {
    CDN_TRY_VOID(db_.execute("UPDATE meter_reports SET reported_at = $3, attempts = attempts + 1, "
                             "last_error = NULL WHERE customer_id = $1 AND day = $2",
                             {text_value(customer_id), day, now}));
    return {};
}

core::Result<void> BillingRepository::mark_meter_report_failed(std::string_view customer_id,
                                                               std::int64_t day,
                                                               std::string_view error) {
    CDN_TRY_VOID(db_.execute("UPDATE meter_reports SET attempts = attempts + 1, last_error = $3 "
                             "WHERE customer_id = $1 AND day = $2",
                             {text_value(customer_id), day, text_value(error)}));
    return {};
}

} // namespace cdn::db
