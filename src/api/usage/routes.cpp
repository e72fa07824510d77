#include "api/usage/routes.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/common/customer_json.h"
#include "api/common/json.h"
#include "billing/bandwidth_quota.h"
#include "core/strings.h"
#include "db/usage_repository.h"

namespace cdn::api {
namespace {

constexpr std::int64_t SECONDS_PER_DAY = 86'400;
/** A range without `from` covers this many days, ending with `to`. */
constexpr std::int64_t DEFAULT_RANGE_DAYS = 30;
/** The longest range one request may ask for, both ends included. */
constexpr std::int64_t MAX_RANGE_DAYS = 366;

core::Error bad_parameter(std::string_view name, std::string message) {
    return core::make_field_error(core::Errc::InvalidParameter, std::string(name),
                                  std::string(name) + ": " + std::move(message));
}

/** `YYYY-MM-DD` (a real calendar date, years 1970 to 9999) as the unix second of its UTC
 *  midnight; nullopt for anything else. */
std::optional<std::int64_t> parse_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9')) {
            return std::nullopt;
        }
    }
    const auto y = core::parse_int(text.substr(0, 4));
    const auto m = core::parse_int(text.substr(5, 2));
    const auto d = core::parse_int(text.substr(8, 2));
    if (!y || !m || !d || *y < 1970) {
        return std::nullopt;
    }
    using namespace std::chrono;
    const year_month_day date{year(static_cast<int>(*y)), month(static_cast<unsigned>(*m)),
                              day(static_cast<unsigned>(*d))};
    if (!date.ok()) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(sys_days(date).time_since_epoch().count()) * SECONDS_PER_DAY;
}

/** What GET /usage asks for: whole UTC days [from_day, to_day] and the bucket size. */
struct SeriesQuery {
    std::int64_t from_day = 0;
    std::int64_t to_day = 0;
    db::UsageGranularity granularity = db::UsageGranularity::Day;
};

/** GET /usage's parameters as given, each at most once. */
struct SeriesParams {
    std::optional<std::string> from;
    std::optional<std::string> to;
    std::optional<std::string> granularity;
};

core::Result<SeriesParams> read_series_params(std::string_view query) {
    const auto params = core::parse_query_string(query);
    if (!params) {
        return core::make_error(core::Errc::InvalidParameter, "malformed query string");
    }
    SeriesParams out;
    for (const auto& [name, value] : *params) {
        std::optional<std::string>* slot = name == "from"          ? &out.from
                                           : name == "to"          ? &out.to
                                           : name == "granularity" ? &out.granularity
                                                                   : nullptr;
        if (slot == nullptr) {
            return core::make_field_error(core::Errc::UnknownParameter, name,
                                          name + ": not a parameter of this route");
        }
        if (*slot) {
            return bad_parameter(name, "given more than once");
        }
        *slot = value;
    }
    return out;
}

/** The date parameter `name` as its UTC midnight; `otherwise` when it is not given. */
core::Result<std::int64_t> date_param(const std::optional<std::string>& value,
                                      std::string_view name, std::int64_t otherwise) {
    if (!value) {
        return otherwise;
    }
    const auto day = parse_date(*value);
    if (!day) {
        return bad_parameter(name, "must be a date YYYY-MM-DD");
    }
    return *day;
}

/**
 * The query string of GET /usage. Every failure is 400 invalid_parameter naming the parameter
 * (unknown_parameter for one this route does not take): these are query parameters, not a
 * JSON body, and the edge answers bad query parameters the same way.
 */
core::Result<SeriesQuery> parse_series_query(std::string_view query, std::int64_t now) {
    CDN_TRY(params, read_series_params(query));
    SeriesQuery out;
    if (!params.granularity || *params.granularity == "day") {
        out.granularity = db::UsageGranularity::Day;
    } else if (*params.granularity == "hour") {
        out.granularity = db::UsageGranularity::Hour;
    } else {
        return bad_parameter("granularity", "must be hour or day");
    }
    CDN_TRY(to_day, date_param(params.to, "to", db::day_start(now)));
    CDN_TRY(from_day,
            date_param(params.from, "from", to_day - (DEFAULT_RANGE_DAYS - 1) * SECONDS_PER_DAY));
    if (from_day > to_day) {
        return bad_parameter("from", "must not be after to");
    }
    if ((to_day - from_day) / SECONDS_PER_DAY + 1 > MAX_RANGE_DAYS) {
        return bad_parameter("to", "the range is limited to " + std::to_string(MAX_RANGE_DAYS) +
                                       " days");
    }
    out.from_day = from_day;
    out.to_day = to_day;
    return out;
}

json::object bucket_json(const db::UsageBucket& bucket) {
    return {
        {"t", core::rfc3339(bucket.start)},
        {"requests", bucket.requests},
        {"bytes_out", bucket.bytes_out},
        {"transforms", bucket.transforms},
        {"cache_hits", bucket.cache_hits},
        {"errors", bucket.errors},
    };
}

/**
 * GET /usage: the flushed counters (usage_hourly; an edge node's counts reach it every
 * [usage] flush_interval_ms) of whole UTC days from..to. Daily series list every day of the
 * range, zero when there was no traffic; hourly series list only the hours with traffic.
 * One page always (at most 366 days or 8,784 hours): next_cursor is null.
 */
core::Result<http::Response> get_usage(ApiDeps& deps, ApiRequest& request) {
    CDN_TRY(query, parse_series_query(request.http.query, deps.clock.unix_seconds()));
    const auto end = query.to_day + SECONDS_PER_DAY;
    CDN_TRY(buckets, db::UsageRepository(deps.db).series(request.caller().customer_id,
                                                         query.from_day, end, query.granularity));
    json::array items;
    if (query.granularity == db::UsageGranularity::Hour) {
        items.reserve(buckets.size());
        for (const auto& bucket : buckets) {
            items.push_back(bucket_json(bucket));
        }
    } else {
        items.reserve(static_cast<std::size_t>((end - query.from_day) / SECONDS_PER_DAY));
        auto next = buckets.begin();
        for (auto day = query.from_day; day < end; day += SECONDS_PER_DAY) {
            if (next != buckets.end() && next->start == day) {
                items.push_back(bucket_json(*next++));
            } else {
                items.push_back(bucket_json(db::UsageBucket{.start = day}));
            }
        }
    }
    return json_response(200, json::object{{"items", std::move(items)}, {"next_cursor", nullptr}});
}

/** The first second of the calendar month (UTC) after the one starting at `month_start`. */
std::int64_t next_month_start(std::int64_t month_start) {
    // A month has at most 31 days: 32 days on is always in the next one.
    return billing::month_start(month_start + 32 * SECONDS_PER_DAY);
}

/**
 * GET /usage/quota: this calendar month (UTC; period_end is exclusive, the next month's first
 * second). bandwidth_used is the figure the edge enforces (usage_hourly plus this node's
 * unflushed counts); requests are the flushed month-to-date requests; storage_used is the sum
 * of the customer's originals.
 */
core::Result<http::Response> get_quota(ApiDeps& deps, ApiRequest& request) {
    CDN_TRY(customer, caller_customer(deps, request));
    const auto& plan = deps.plan_of(customer);
    const auto period_start = billing::month_start(deps.clock.unix_seconds());
    const auto period_end = next_month_start(period_start);
    CDN_TRY(bandwidth, deps.quota.refresh(customer.id, plan));
    db::UsageRepository usage(deps.db);
    CDN_TRY(storage, usage.storage_bytes(customer.id));
    CDN_TRY(month, usage.totals(customer.id, period_start, period_end));
    return json_response(200, json::object{
                                  {"plan", plan.name},
                                  {"period_start", core::rfc3339(period_start)},
                                  {"period_end", core::rfc3339(period_end)},
                                  {"bandwidth_used", bandwidth.used_bytes},
                                  {"bandwidth_quota", plan.bandwidth_quota_bytes},
                                  {"storage_used", storage},
                                  {"storage_quota", plan.storage_quota_bytes},
                                  {"requests", month.requests},
                              });
}

} // namespace

void add_usage_routes(ApiRouter& router, ApiDeps& deps) {
    router.add({.method = "GET",
                .pattern = "/api/v1/usage",
                .operation_id = "getUsage",
                .access = Access::Customer,
                .handler = with_deps(deps, get_usage)});
    router.add({.method = "GET",
                .pattern = "/api/v1/usage/quota",
                .operation_id = "getQuota",
                .access = Access::Customer,
                .handler = with_deps(deps, get_quota)});
}

} // namespace cdn::api
