// The usage, purge, internal and OpenAPI routes of the management API (api.md) against the
// real binary on loopback: usage series and quota after metered edge traffic, purges reaching
// the edge cache, the internal node-to-node routes behind the internal secret, and the
// published OpenAPI document.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"
#include "sql_file.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;

// ---- A small JSON reader (the integration tests link no JSON library) ----------------------

/** A parsed JSON value; a missing member or index reads as null. */
struct Json {
    enum class Kind { Null, Bool, Number, String, Array, Object };
    Kind kind = Kind::Null;
    bool boolean = false;
    std::string text; // a string's value, or a number as written
    std::vector<Json> items;
    std::vector<std::pair<std::string, Json>> members;

    // Declared here, defaulted below once Json is complete: clang 14 instantiates the (C++20
    // constexpr) vector destructor at once, and std::pair<std::string, Json> is incomplete here.
    Json();
    Json(const Json&);
    Json(Json&&) noexcept;
    Json& operator=(const Json&);
    Json& operator=(Json&&) noexcept;
    ~Json();

    const Json& operator[](const std::string& name) const {
        for (const auto& [key, value] : members) {
            if (key == name) {
                return value;
            }
        }
        return null_value();
    }
    const Json& operator[](std::size_t i) const {
        return i < items.size() ? items[i] : null_value();
    }
    bool has(const std::string& name) const {
        for (const auto& member : members) {
            if (member.first == name) {
                return true;
            }
        }
        return false;
    }
    bool is_null() const { return kind == Kind::Null; }
    std::int64_t integer() const {
        return kind == Kind::Number ? std::stoll(text) : std::int64_t{-1};
    }
    std::string str() const { return kind == Kind::String ? text : std::string(); }
    std::size_t size() const { return kind == Kind::Array ? items.size() : members.size(); }

    static const Json& null_value() {
        static const Json none;
        return none;
    }
};

Json::Json() = default;
Json::Json(const Json&) = default;
Json::Json(Json&&) noexcept = default;
Json& Json::operator=(const Json&) = default;
Json& Json::operator=(Json&&) noexcept = default;
Json::~Json() = default;

class JsonParser {
public:
    explicit JsonParser(std::string_view text) : s_(text) {}

    /** The whole text as one value; nullopt when it is not exactly one JSON value. */
    std::optional<Json> parse() {
        Json out;
        if (!value(out, 0)) {
            return std::nullopt;
        }
        skip();
        return i_ == s_.size() ? std::optional<Json>(std::move(out)) : std::nullopt;
    }

private:
    void skip() {
        while (i_ < s_.size() && std::string_view(" \n\r\t").find(s_[i_]) != s_.npos) {
            ++i_;
        }
    }
    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) {
            return false;
        }
        i_ += word.size();
        return true;
    }
    bool string(std::string& out) {
        if (i_ >= s_.size() || s_[i_] != '"') {
            return false;
        }
        ++i_;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (static_cast<unsigned char>(c) < 0x20) {
                return false;
            }
            if (c == '\\') {
                if (i_ >= s_.size()) {
                    return false;
                }
                c = s_[i_++];
                switch (c) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'u': {
                    if (i_ + 4 > s_.size()) {
                        return false;
                    }
                    const auto code = std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16);
                    i_ += 4;
                    // Enough for these tests: ASCII as is, anything else as '?'.
                    out += code < 0x80 ? static_cast<char>(code) : '?';
                    break;
                }
                case '"': case '\\': case '/': out += c; break;
                default: return false;
                }
                continue;
            }
            out += c;
        }
        if (i_ >= s_.size()) {
            return false;
        }
        ++i_;
        return true;
    }
    bool value(Json& out, int depth) {
        if (depth > 64) {
            return false;
        }
        skip();
        if (i_ >= s_.size()) {
            return false;
        }
        const char c = s_[i_];
        if (c == '{') {
            out.kind = Json::Kind::Object;
            ++i_;
            skip();
            if (i_ < s_.size() && s_[i_] == '}') {
                ++i_;
                return true;
            }
            while (true) {
                skip();
                std::string key;
                if (!string(key)) {
                    return false;
                }
                skip();
                if (i_ >= s_.size() || s_[i_++] != ':') {
                    return false;
                }
                Json member;
                if (!value(member, depth + 1)) {
                    return false;
                }
                out.members.emplace_back(std::move(key), std::move(member));
                skip();
                if (i_ < s_.size() && s_[i_] == ',') {
                    ++i_;
                    continue;
                }
                if (i_ < s_.size() && s_[i_] == '}') {
                    ++i_;
                    return true;
                }
                return false;
            }
        }
        if (c == '[') {
            out.kind = Json::Kind::Array;
            ++i_;
            skip();
            if (i_ < s_.size() && s_[i_] == ']') {
                ++i_;
                return true;
            }
            while (true) {
                Json item;
                if (!value(item, depth + 1)) {
                    return false;
                }
                out.items.push_back(std::move(item));
                skip();
                if (i_ < s_.size() && s_[i_] == ',') {
                    ++i_;
                    continue;
                }
                if (i_ < s_.size() && s_[i_] == ']') {
                    ++i_;
                    return true;
                }
                return false;
            }
        }
        if (c == '"') {
            out.kind = Json::Kind::String;
            return string(out.text);
        }
        if (literal("true")) {
            out.kind = Json::Kind::Bool;
            out.boolean = true;
            return true;
        }
        if (literal("false")) {
            out.kind = Json::Kind::Bool;
            return true;
        }
        if (literal("null")) {
            return true;
        }
        const auto start = i_;
        while (i_ < s_.size() &&
               std::string_view("0123456789+-.eE").find(s_[i_]) != s_.npos) {
            ++i_;
        }
        if (i_ == start) {
            return false;
        }
        out.kind = Json::Kind::Number;
        out.text = std::string(s_.substr(start, i_ - start));
        return true;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

Json parse_json(const std::string& text) {
    auto parsed = JsonParser(text).parse();
    EXPECT_TRUE(parsed) << "not JSON: " << text.substr(0, 300);
    return parsed ? std::move(*parsed) : Json{};
}

// ---- Time helpers --------------------------------------------------------------------------

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string format_utc(std::int64_t unix_seconds, const char* format) {
    const std::time_t t = unix_seconds;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    return std::string(buf, std::strftime(buf, sizeof(buf), format, &tm));
}

std::string date_of(std::int64_t unix_seconds) { return format_utc(unix_seconds, "%Y-%m-%d"); }

constexpr std::int64_t DAY = 86'400;

// ---- Fixture -------------------------------------------------------------------------------

/** What `imagecdn customer create` prints. */
class ApiUsageTest : public ::testing::Test {
protected:
    Account add_customer(const std::string& email, const std::string& plan = "pro") {
        auto customer = create_account(dir_.path(), email, plan);
        put_original(dir_.path(), customer.public_key, "photo.jpg", sample_jpeg());
        put_original(dir_.path(), customer.public_key, "logo.png", sample_png());
        return customer;
    }

    void start(Headers env = {}) {
        server_ = std::make_unique<ServerProcess>(dir_.path(), std::move(env));
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    CommandResult cli(std::vector<std::string> args) {
        return run_imagecdn_on(dir_.path(), std::move(args));
    }

    RawResponse request(const std::string& method, const std::string& target,
                        const Headers& headers = {}, const std::string& body = {}) {
        auto res = http_request(server_->port(), method, target, headers, body);
        EXPECT_TRUE(res) << method << " " << target;
        return res ? *res : RawResponse{};
    }

    /** A delivery request at the edge. */
    RawResponse edge(const std::string& target) { return request("GET", target); }

    RawResponse api_get(const Account& c, const std::string& target) {
        return request("GET", target, {{"X-API-Key", c.api_key}});
    }

    RawResponse api_post(const Account& c, const std::string& target, const std::string& body,
                         const std::string& type = "application/json") {
        Headers headers{{"X-API-Key", c.api_key}};
        if (!type.empty()) {
            headers["Content-Type"] = type;
        }
        return request("POST", target, headers, body);
    }

    static Headers internal_headers(const std::string& type = {}) {
        Headers headers{{"Authorization", std::string("Bearer ") + ServerProcess::INTERNAL_SECRET}};
        if (!type.empty()) {
            headers["Content-Type"] = type;
        }
        return headers;
    }

    /** The error code and field of an error answer. */
    static std::pair<std::string, std::string> error_of(const RawResponse& res) {
        const auto body = parse_json(res.body);
        return {body["error"]["code"].str(), body["error"]["field"].str()};
    }

    /** Sums of a usage series' counters. */
    struct Totals {
        std::int64_t requests = 0, bytes_out = 0, transforms = 0, cache_hits = 0, errors = 0;
    };
    static Totals totals(const Json& series) {
        Totals t;
        for (const auto& item : series["items"].items) {
            t.requests += item["requests"].integer();
            t.bytes_out += item["bytes_out"].integer();
            t.transforms += item["transforms"].integer();
            t.cache_hits += item["cache_hits"].integer();
            t.errors += item["errors"].integer();
        }
        return t;
    }

    /** Polls GET `target` until its series counts `requests` (flushes are periodic). */
    Json wait_for_series(const Account& c, const std::string& target, std::int64_t requests) {
        Json series;
        poll_until([&] {
            const auto res = api_get(c, target);
            EXPECT_EQ(res.status, 200) << res.body;
            series = parse_json(res.body);
            return totals(series).requests >= requests;
        }, std::chrono::seconds(10), std::chrono::milliseconds(100));
        return series;
    }

    /** The edge traffic of policy_test's usage case: sums of what the responses said. */
    Totals serve_mixed_traffic(const Account& c) {
        const std::vector<std::string> targets{
            "/logo.png", "/logo.png", "/photo.jpg?w=50", "/photo.jpg?w=50", "/missing.png",
            "/photo.jpg?w=70&format=webp", "/photo.jpg",
        };
        Totals sent;
        for (const auto& target : targets) {
            const auto res = edge("/" + c.public_key + target);
            ++sent.requests;
            sent.bytes_out += std::stoll(res.header("content-length").value_or("0"));
            sent.errors += res.status >= 400 ? 1 : 0;
            sent.cache_hits += res.header("x-cache") == "HIT" ? 1 : 0;
        }
        sent.transforms = 2; // w=50 once (then a hit), w=70 webp
        return sent;
    }

    /** Inserts an originals row (what an upload records) straight into the database. */
    void add_original_row(const std::string& customer_id, const std::string& path,
                          std::int64_t bytes) {
        sql_exec(dir_.path(),
                 "INSERT INTO originals (customer_id, path, bytes, content_type, etag, "
                 "created_at, updated_at) VALUES ($1, $2, $3, 'image/jpeg', 'etag', 0, 0)",
                 {customer_id, path, bytes});
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
};

// ---- GET /usage ----------------------------------------------------------------------------

TEST_F(ApiUsageTest, UsageSeriesCountsTheEdgesTrafficOnceFlushed) {
    const auto c = add_customer("series@example.com");
    const auto other = add_customer("other@example.com");
    start({{"IMAGECDN_USAGE_FLUSH_INTERVAL_MS", "200"}});
    const auto today_before = date_of(unix_now());
    const auto sent = serve_mixed_traffic(c);
    edge("/" + other.public_key + "/logo.png"); // another customer's traffic is not counted

    // Hourly: only the hours with traffic (one, or two across an hour boundary).
    const auto hourly = wait_for_series(c, "/api/v1/usage?granularity=hour", sent.requests);
    const auto h = totals(hourly);
    EXPECT_EQ(h.requests, sent.requests);
    EXPECT_EQ(h.bytes_out, sent.bytes_out);
    EXPECT_EQ(h.transforms, sent.transforms);
    EXPECT_EQ(h.cache_hits, sent.cache_hits);
    EXPECT_EQ(h.cache_hits, 2);
    EXPECT_EQ(h.errors, sent.errors);
    EXPECT_EQ(h.errors, 1);
    EXPECT_TRUE(hourly["next_cursor"].is_null());
    ASSERT_GE(hourly["items"].size(), 1u);
    ASSERT_LE(hourly["items"].size(), 2u);
    const auto t = hourly["items"][0]["t"].str();
    ASSERT_EQ(t.size(), 20u) << t;
    EXPECT_EQ(t.substr(13), ":00:00Z") << t;
    EXPECT_TRUE(t.substr(0, 10) == today_before || t.substr(0, 10) == date_of(unix_now())) << t;

    // Daily, by default the last 30 days, every day listed, zeros included, oldest first.
    const auto daily = wait_for_series(c, "/api/v1/usage", sent.requests);
    ASSERT_EQ(daily["items"].size(), 30u);
    const auto today = date_of(unix_now());
    const auto last_t = daily["items"][29]["t"].str();
    EXPECT_TRUE(last_t == today + "T00:00:00Z" || last_t == today_before + "T00:00:00Z") << last_t;
    EXPECT_EQ(daily["items"][0]["t"].str(),
              date_of(unix_now() - 29 * DAY) + "T00:00:00Z");
    EXPECT_EQ(daily["items"][0]["requests"].integer(), 0);
    EXPECT_TRUE(daily["items"][0].has("bytes_out"));
    const auto d = totals(daily);
    EXPECT_EQ(d.requests, sent.requests);
    EXPECT_EQ(d.bytes_out, sent.bytes_out);
    EXPECT_EQ(d.transforms, sent.transforms);
    EXPECT_EQ(d.cache_hits, sent.cache_hits);
    EXPECT_EQ(d.errors, sent.errors);

    // The other customer sees only its own request.
    const auto theirs = wait_for_series(other, "/api/v1/usage?granularity=day", 1);
    EXPECT_EQ(totals(theirs).requests, 1);
}

TEST_F(ApiUsageTest, DailySeriesOfAPastRangeIsZeroFilledAndHourlyIsEmpty) {
    const auto c = add_customer("past@example.com");
    start();
    const auto daily = parse_json(
        api_get(c, "/api/v1/usage?from=2024-02-28&to=2024-03-01&granularity=day").body);
    ASSERT_EQ(daily["items"].size(), 3u);
    EXPECT_EQ(daily["items"][0]["t"].str(), "2024-02-28T00:00:00Z");
    EXPECT_EQ(daily["items"][1]["t"].str(), "2024-02-29T00:00:00Z"); // a leap day
    EXPECT_EQ(daily["items"][2]["t"].str(), "2024-03-01T00:00:00Z");
    for (const auto& item : daily["items"].items) {
        for (const auto* name : {"requests", "bytes_out", "transforms", "cache_hits", "errors"}) {
            EXPECT_EQ(item[name].integer(), 0) << name;
        }
    }
    const auto hourly =
        parse_json(api_get(c, "/api/v1/usage?from=2024-02-28&to=2024-03-01&granularity=hour").body);
    EXPECT_EQ(hourly["items"].kind, Json::Kind::Array);
    EXPECT_EQ(hourly["items"].size(), 0u);
    EXPECT_TRUE(hourly.has("next_cursor"));

    // The longest range: 366 days (2024 is a leap year).
    const auto year = api_get(c, "/api/v1/usage?from=2024-01-01&to=2024-12-31");
    EXPECT_EQ(year.status, 200) << year.body;
    EXPECT_EQ(parse_json(year.body)["items"].size(), 366u);
    // A single day.
    const auto one = parse_json(api_get(c, "/api/v1/usage?from=2024-05-05&to=2024-05-05").body);
    EXPECT_EQ(one["items"].size(), 1u);
}

TEST_F(ApiUsageTest, IngestedHoursShowInTheSeriesAtTheirHourAndDay) {
    const auto c = add_customer("ingest@example.com");
    start();
    // 2024-03-10 05:xx and 2024-03-10 23:xx and 2024-03-11 00:xx (UTC), one ingest each.
    const std::int64_t day0 = 1'710'028'800; // 2024-03-10T00:00:00Z
    const auto body = "{\"items\":[{\"customer_id\":\"" + c.customer_id + "\",\"hour\":" +
                      std::to_string(day0 + 5 * 3600 + 59) +
                      ",\"requests\":3,\"bytes_out\":300,\"transforms\":1,\"cache_hits\":2,"
                      "\"errors\":0},{\"customer_id\":\"" + c.customer_id + "\",\"hour\":" +
                      std::to_string(day0 + 23 * 3600) +
                      ",\"requests\":4,\"bytes_out\":400},{\"customer_id\":\"" + c.customer_id +
                      "\",\"hour\":" + std::to_string(day0 + DAY) +
                      ",\"requests\":5,\"bytes_out\":500,\"errors\":5}]}";
    const auto ingested =
        request("POST", "/internal/v1/usage", internal_headers("application/json"), body);
    ASSERT_EQ(ingested.status, 202) << ingested.body;
    EXPECT_EQ(parse_json(ingested.body)["accepted"].integer(), 3);

    const auto hourly = parse_json(
        api_get(c, "/api/v1/usage?from=2024-03-10&to=2024-03-11&granularity=hour").body);
    ASSERT_EQ(hourly["items"].size(), 3u) << hourly["items"].size();
    EXPECT_EQ(hourly["items"][0]["t"].str(), "2024-03-10T05:00:00Z");
    EXPECT_EQ(hourly["items"][0]["requests"].integer(), 3);
    EXPECT_EQ(hourly["items"][0]["cache_hits"].integer(), 2);
    EXPECT_EQ(hourly["items"][1]["t"].str(), "2024-03-10T23:00:00Z");
    EXPECT_EQ(hourly["items"][2]["t"].str(), "2024-03-11T00:00:00Z");
    EXPECT_EQ(hourly["items"][2]["errors"].integer(), 5);

    const auto daily = parse_json(
        api_get(c, "/api/v1/usage?from=2024-03-09&to=2024-03-11&granularity=day").body);
    ASSERT_EQ(daily["items"].size(), 3u);
    EXPECT_EQ(daily["items"][0]["requests"].integer(), 0);
    EXPECT_EQ(daily["items"][1]["t"].str(), "2024-03-10T00:00:00Z");
    EXPECT_EQ(daily["items"][1]["requests"].integer(), 7);
    EXPECT_EQ(daily["items"][1]["bytes_out"].integer(), 700);
    EXPECT_EQ(daily["items"][1]["transforms"].integer(), 1);
    EXPECT_EQ(daily["items"][2]["requests"].integer(), 5);

    // The same batch again adds (another node's flush of the same hours).
    ASSERT_EQ(request("POST", "/internal/v1/usage", internal_headers("application/json"), body)
                  .status,
              202);
    const auto twice = parse_json(
        api_get(c, "/api/v1/usage?from=2024-03-10&to=2024-03-10").body);
    EXPECT_EQ(twice["items"][0]["requests"].integer(), 14);
}

TEST_F(ApiUsageTest, BadUsageParametersAre400NamingTheParameter) {
    const auto c = add_customer("badparams@example.com");
    start();
    const std::vector<std::pair<std::string, std::string>> cases{
        {"granularity=week", "granularity"},
        {"granularity=", "granularity"},
        {"from=2024-13-01", "from"},
        {"from=2023-02-29", "from"},
        {"from=2024-1-01", "from"},
        {"from=20240101", "from"},
        {"to=yesterday", "to"},
        {"to=2024-01-01T00:00:00Z", "to"},
        {"from=2024-03-02&to=2024-03-01", "from"},
        {"from=2023-01-01&to=2024-01-02", "to"}, // 367 days
        {"from=2024-01-01&from=2024-01-02", "from"},
        {"from=1969-12-31&to=1970-01-01", "from"},
    };
    for (const auto& [query, field] : cases) {
        const auto res = api_get(c, "/api/v1/usage?" + query);
        EXPECT_EQ(res.status, 400) << query << " " << res.body;
        EXPECT_EQ(error_of(res), std::make_pair(std::string("invalid_parameter"), field)) << query;
    }
    const auto unknown = api_get(c, "/api/v1/usage?page=2");
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(error_of(unknown),
              std::make_pair(std::string("unknown_parameter"), std::string("page")));

    EXPECT_EQ(request("GET", "/api/v1/usage").status, 401);
    EXPECT_EQ(request("GET", "/api/v1/usage", {{"X-API-Key", "sk_not_a_key"}}).status, 401);
    EXPECT_EQ(request("GET", "/api/v1/usage/quota").status, 401);
    EXPECT_EQ(request("POST", "/api/v1/usage").status, 405);
}

// ---- GET /usage/quota ----------------------------------------------------------------------

TEST_F(ApiUsageTest, QuotaShowsThisMonthsBandwidthRequestsAndStorage) {
    const auto c = add_customer("quota@example.com", "pro");
    const auto basic = add_customer("quota-free@example.com", "free");
    add_original_row(c.customer_id, "photo.jpg", 123'456);
    add_original_row(c.customer_id, "logo.png", 1'000);
    add_original_row(basic.customer_id, "photo.jpg", 7);
    start({{"IMAGECDN_USAGE_FLUSH_INTERVAL_MS", "200"}});

    const auto before = api_get(c, "/api/v1/usage/quota");
    ASSERT_EQ(before.status, 200) << before.body;
    const auto q0 = parse_json(before.body);
    // This calendar month, UTC: [first second, first second of the next month).
    const auto now = unix_now();
    const auto month = format_utc(now, "%Y-%m");
    EXPECT_EQ(q0["period_start"].str(), month + "-01T00:00:00Z");
    std::tm tm{};
    const std::time_t t = now;
    gmtime_r(&t, &tm);
    const int next_year = tm.tm_year + 1900 + (tm.tm_mon == 11 ? 1 : 0);
    const int next_month = tm.tm_mon == 11 ? 1 : tm.tm_mon + 2;
    const auto two_digits = [](int n) { return (n < 10 ? "0" : "") + std::to_string(n); };
    EXPECT_EQ(q0["period_end"].str(),
              std::to_string(next_year) + "-" + two_digits(next_month) + "-01T00:00:00Z");
    EXPECT_EQ(q0["plan"].str(), "pro");
    EXPECT_EQ(q0["bandwidth_used"].integer(), 0);
    EXPECT_EQ(q0["bandwidth_quota"].integer(), 100'000'000'000);
    EXPECT_EQ(q0["storage_used"].integer(), 124'456);
    EXPECT_EQ(q0["storage_quota"].integer(), 50'000'000'000);
    EXPECT_EQ(q0["requests"].integer(), 0);

    const auto sent = serve_mixed_traffic(c);
    Json q;
    poll_until([&] {
        q = parse_json(api_get(c, "/api/v1/usage/quota").body);
        return q["requests"].integer() >= sent.requests;
    }, std::chrono::seconds(10), std::chrono::milliseconds(100));
    EXPECT_EQ(q["requests"].integer(), sent.requests);
    EXPECT_EQ(q["bandwidth_used"].integer(), sent.bytes_out);
    EXPECT_EQ(q["storage_used"].integer(), 124'456);

    const auto f = parse_json(api_get(basic, "/api/v1/usage/quota").body);
    EXPECT_EQ(f["plan"].str(), "free");
    EXPECT_EQ(f["bandwidth_used"].integer(), 0);
    EXPECT_EQ(f["bandwidth_quota"].integer(), 1'000'000'000);
    EXPECT_EQ(f["storage_used"].integer(), 7);
    EXPECT_EQ(f["storage_quota"].integer(), 1'000'000'000);
}

// ---- The dashboard's previews (docs/previews.md) -----------------------------------------

/** The `cdn_preview=...` pair of a response's Set-Cookie headers ("" when absent). */
std::string preview_cookie_of(const RawResponse& res) {
    for (const auto& [name, value] : res.headers) {
        if (name == "set-cookie" && value.starts_with("cdn_preview=")) {
            return value.substr(0, value.find(';'));
        }
    }
    return {};
}

TEST_F(ApiUsageTest, DashboardPreviewsAreNotMeteredAndAForgedPassIs) {
    start({{"IMAGECDN_USAGE_FLUSH_INTERVAL_MS", "100"}});
    const Headers json{{"Content-Type", "application/json"}};
    const auto signup = request("POST", "/api/v1/auth/signup", json,
                                R"({"email":"previews@example.com","password":"long enough pw"})");
    ASSERT_EQ(signup.status, 201) << signup.body;
    const auto body = parse_json(signup.body);
    const auto public_key = body["customer"]["public_key"].str();
    const Headers bearer{{"Authorization", "Bearer " + body["access_token"].str()}};
    put_original(dir_.path(), public_key, "photo.jpg", sample_jpeg());
    const auto pass = preview_cookie_of(signup);
    ASSERT_TRUE(pass.starts_with("cdn_preview=" + body["customer"]["id"].str() + ".")) << pass;
    const auto image = "/" + public_key + "/photo.jpg?w=120";

    // Three previews with the pass: served, not metered.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(request("GET", image, {{"Cookie", "theme=dark; " + pass}}).status, 200);
    }
    // Metered: a forged MAC, another customer's valid pass, and no pass at all (last, so once
    // it is counted every request before it is too).
    auto forged = pass;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    const auto other = request("POST", "/api/v1/auth/signup", json,
                               R"({"email":"previews2@example.com","password":"long enough pw"})");
    std::vector<RawResponse> metered;
    metered.push_back(request("GET", image, {{"Cookie", forged}}));
    metered.push_back(request("GET", image, {{"Cookie", preview_cookie_of(other)}}));
    metered.push_back(request("GET", image));
    std::int64_t bytes = 0;
    for (const auto& res : metered) {
        EXPECT_EQ(res.status, 200);
        bytes += static_cast<std::int64_t>(res.body.size());
    }
    Json q;
    poll_until([&] {
        q = parse_json(request("GET", "/api/v1/usage/quota", bearer).body);
        return q["requests"].integer() >= 3;
    }, std::chrono::seconds(10), std::chrono::milliseconds(100));
    EXPECT_EQ(q["requests"].integer(), 3);
    EXPECT_EQ(q["bandwidth_used"].integer(), bytes);
}

TEST_F(ApiUsageTest, PreviewsBeyondTheHourlyAllowanceAreMetered) {
    // A pass copied into a proxy must not carry a site's traffic unmetered.
    start({{"IMAGECDN_USAGE_FLUSH_INTERVAL_MS", "100"},
           {"IMAGECDN_LIMITS_UNMETERED_PREVIEWS_PER_HOUR", "2"}});
    const auto signup = request("POST", "/api/v1/auth/signup", {{"Content-Type", "application/json"}},
                                R"({"email":"proxy@example.com","password":"long enough pw"})");
    ASSERT_EQ(signup.status, 201) << signup.body;
    const auto body = parse_json(signup.body);
    const auto public_key = body["customer"]["public_key"].str();
    put_original(dir_.path(), public_key, "photo.jpg", sample_jpeg());
    const auto pass = preview_cookie_of(signup);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(request("GET", "/" + public_key + "/photo.jpg?w=64", {{"Cookie", pass}}).status,
                  200);
    }
    const Headers bearer{{"Authorization", "Bearer " + body["access_token"].str()}};
    Json q;
    poll_until([&] {
        q = parse_json(request("GET", "/api/v1/usage/quota", bearer).body);
        return q["requests"].integer() >= 3;
    }, std::chrono::seconds(10), std::chrono::milliseconds(100));
    EXPECT_EQ(q["requests"].integer(), 3) << "two free, three metered";
}

// ---- POST /purge ---------------------------------------------------------------------------

TEST_F(ApiUsageTest, PurgeOfAPathDropsItsCachedVariantsOnly) {
    const auto c = add_customer("purge@example.com");
    start();
    const auto photo = "/" + c.public_key + "/photo.jpg?w=50";
    const auto logo = "/" + c.public_key + "/logo.png?w=40";
    EXPECT_EQ(edge(photo).header("x-cache"), "MISS");
    EXPECT_EQ(edge(photo).header("x-cache"), "HIT");
    EXPECT_EQ(edge(logo).header("x-cache"), "MISS");
    EXPECT_EQ(edge(logo).header("x-cache"), "HIT");

    const auto res = api_post(c, "/api/v1/purge", R"({"paths":["photo.jpg"]})");
    EXPECT_EQ(res.status, 202) << res.body;
    EXPECT_EQ(parse_json(res.body)["purged"].str(), "paths");
    EXPECT_EQ(edge(photo).header("x-cache"), "MISS");
    EXPECT_EQ(edge(photo).header("x-cache"), "HIT");
    EXPECT_EQ(edge(logo).header("x-cache"), "HIT");
}

TEST_F(ApiUsageTest, PurgeByPrefixAndAllDropTheirVariantsAndNoOtherCustomers) {
    const auto c = add_customer("prefix@example.com");
    const auto other = add_customer("bystander@example.com");
    put_original(dir_.path(), c.public_key, "products/a.jpg", sample_jpeg());
    put_original(dir_.path(), c.public_key, "products/b.png", sample_png());
    put_original(dir_.path(), c.public_key, "blog/c.jpg", sample_jpeg());
    start();
    const std::vector<std::string> products{"/" + c.public_key + "/products/a.jpg?w=30",
                                            "/" + c.public_key + "/products/b.png?w=30"};
    const auto blog = "/" + c.public_key + "/blog/c.jpg?w=30";
    const auto theirs = "/" + other.public_key + "/photo.jpg?w=30";
    for (const auto& target : {products[0], products[1], blog, theirs}) {
        edge(target);
        ASSERT_EQ(edge(target).header("x-cache"), "HIT") << target;
    }

    auto res = api_post(c, "/api/v1/purge", R"({"prefix":"products/"})");
    EXPECT_EQ(res.status, 202) << res.body;
    EXPECT_EQ(parse_json(res.body)["purged"].str(), "prefix");
    EXPECT_EQ(edge(products[0]).header("x-cache"), "MISS");
    EXPECT_EQ(edge(products[1]).header("x-cache"), "MISS");
    EXPECT_EQ(edge(blog).header("x-cache"), "HIT");

    res = api_post(c, "/api/v1/purge", R"({"all":true})");
    EXPECT_EQ(res.status, 202) << res.body;
    EXPECT_EQ(parse_json(res.body)["purged"].str(), "all");
    EXPECT_EQ(edge(products[0]).header("x-cache"), "MISS");
    EXPECT_EQ(edge(blog).header("x-cache"), "MISS");
    // Another customer's variants stay.
    EXPECT_EQ(edge(theirs).header("x-cache"), "HIT");
}

TEST_F(ApiUsageTest, InvalidPurgeBodiesAreRefused) {
    const auto c = add_customer("badpurge@example.com");
    start();
    std::string thousand_and_one = R"({"paths":[)";
    for (int i = 0; i < 1001; ++i) {
        thousand_and_one += (i ? ",\"p" : "\"p") + std::to_string(i) + ".jpg\"";
    }
    thousand_and_one += "]}";
    const std::vector<std::pair<std::string, std::string>> unprocessable{
        {"{}", ""},
        {R"({"paths":[]})", "paths"},
        {R"({"paths":"a.jpg"})", "paths"},
        {R"({"paths":["../etc/passwd"]})", "paths"},
        {R"({"paths":["/abs.jpg"]})", "paths"},
        {R"({"paths":["ok.jpg", 7]})", "paths"},
        {R"({"paths":["a\\b.jpg"]})", "paths"},
        {thousand_and_one, "paths"},
        {R"({"prefix":""})", "prefix"},
        {R"({"prefix":7})", "prefix"},
        {R"({"prefix":"../"})", "prefix"},
        {R"({"all":false})", "all"},
        {R"({"all":"yes"})", "all"},
        {R"({"paths":["a.jpg"],"all":true})", ""},
        {R"({"prefix":"a/","all":true})", ""},
        {R"({"bogus":1})", "bogus"},
    };
    for (const auto& [body, field] : unprocessable) {
        const auto res = api_post(c, "/api/v1/purge", body);
        EXPECT_EQ(res.status, 422) << body.substr(0, 80) << " " << res.body;
        EXPECT_EQ(error_of(res), std::make_pair(std::string("invalid_request"), field))
            << body.substr(0, 80);
    }
    // 1000 paths is the limit, not over it.
    std::string thousand = R"({"paths":[)";
    for (int i = 0; i < 1000; ++i) {
        thousand += (i ? ",\"p" : "\"p") + std::to_string(i) + ".jpg\"";
    }
    thousand += "]}";
    EXPECT_EQ(api_post(c, "/api/v1/purge", thousand).status, 202);

    auto res = api_post(c, "/api/v1/purge", R"({"all":true})", "text/plain");
    EXPECT_EQ(res.status, 415);
    EXPECT_EQ(error_of(res).first, "unsupported_media_type");
    res = api_post(c, "/api/v1/purge", R"({"all":true})", "");
    EXPECT_EQ(res.status, 415);
    res = api_post(c, "/api/v1/purge", R"({"all":tru)");
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(error_of(res).first, "invalid_json");
    res = api_post(c, "/api/v1/purge", R"(["all"])");
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(request("POST", "/api/v1/purge", {{"Content-Type", "application/json"}},
                      R"({"all":true})")
                  .status,
              401);
    EXPECT_EQ(api_get(c, "/api/v1/purge").status, 405);
}

// ---- /internal/v1 --------------------------------------------------------------------------

TEST_F(ApiUsageTest, InternalRoutesRefuseWithoutTheSecret) {
    const auto c = add_customer("internal@example.com");
    start();
    const std::vector<std::pair<std::string, std::string>> routes{
        {"GET", "/internal/v1/customers/" + c.public_key},
        {"GET", "/internal/v1/hosts/img.example.com"},
        {"POST", "/internal/v1/usage"},
        {"POST", "/internal/v1/purge"},
    };
    for (const auto& [method, target] : routes) {
        for (const auto& headers :
             {Headers{}, Headers{{"Authorization", "Bearer wrong-secret"}},
              Headers{{"Authorization", ServerProcess::INTERNAL_SECRET}},
              Headers{{"X-API-Key", c.api_key}}}) {
            const auto res = request(method, target, headers, method == "POST" ? "{}" : "");
            EXPECT_EQ(res.status, 401) << method << " " << target;
            EXPECT_EQ(error_of(res).first, "unauthorized");
        }
    }
}

TEST_F(ApiUsageTest, InternalCustomerConfigByKeyAndByHost) {
    const auto c = add_customer("config@example.com", "pro");
    ASSERT_EQ(cli({"customer", "domains", c.public_key, "img.example.com"}).exit_code, 0);
    ASSERT_EQ(cli({"preset", "put", c.public_key, "thumb", "w=100&h=100&fit=cover"}).exit_code, 0);
    const auto settings = cli({"customer", "update", c.public_key, "--settings",
                               R"({"allowed_domains":["example.com"],"default_quality":70})"});
    ASSERT_EQ(settings.exit_code, 0) << settings.err;
    start();

    for (const auto& target : {"/internal/v1/customers/" + c.public_key,
                               std::string("/internal/v1/hosts/img.example.com"),
                               std::string("/internal/v1/hosts/IMG.Example.COM")}) {
        const auto res = request("GET", target, internal_headers());
        ASSERT_EQ(res.status, 200) << target << " " << res.body;
        EXPECT_EQ(res.header("content-type"), "application/json");
        const auto doc = parse_json(res.body);
        const auto& customer = doc["customer"];
        EXPECT_EQ(customer["id"].str(), c.customer_id);
        EXPECT_EQ(customer["public_key"].str(), c.public_key);
        EXPECT_EQ(customer["email"].str(), "config@example.com");
        EXPECT_EQ(customer["plan"].str(), "pro");
        EXPECT_EQ(customer["suspended"].kind, Json::Kind::Bool);
        EXPECT_FALSE(customer["suspended"].boolean);
        EXPECT_EQ(customer["billing_status"].str(), "active");
        EXPECT_FALSE(customer["signing_secret"].str().empty());
        EXPECT_FALSE(customer.has("password_hash"));
        EXPECT_EQ(customer["settings"]["default_quality"].integer(), 70);
        EXPECT_EQ(customer["settings"]["allowed_domains"][0].str(), "example.com");
        ASSERT_EQ(doc["custom_domains"].size(), 1u);
        EXPECT_EQ(doc["custom_domains"][0].str(), "img.example.com");
        EXPECT_EQ(doc["presets"]["thumb"].str(), "w=100&h=100&fit=cover");
    }

    for (const auto& target : {std::string("/internal/v1/customers/pk_unknownunknownunknown000"),
                               std::string("/internal/v1/hosts/nobody.example.com")}) {
        const auto res = request("GET", target, internal_headers());
        EXPECT_EQ(res.status, 404) << target;
        EXPECT_EQ(error_of(res).first, "unknown_customer");
    }
}

TEST_F(ApiUsageTest, InternalUsageBatchesAreValidatedWhole) {
    const auto c = add_customer("batch@example.com");
    start();
    const auto post = [&](const std::string& body, const std::string& type = "application/json") {
        return request("POST", "/internal/v1/usage", internal_headers(type), body);
    };
    const auto item = [&](const std::string& extra) {
        return "{\"customer_id\":\"" + c.customer_id + "\",\"hour\":1710028800" + extra + "}";
    };
    const std::vector<std::pair<std::string, std::string>> unprocessable{
        {"{}", "items"},
        {R"({"items":{}})", "items"},
        {R"({"items":[],"more":1})", "more"},
        {"{\"items\":[" + item("") + ",7]}", "items[1]"},
        {"{\"items\":[" + item(",\"requests\":-1") + "]}", "items[0].requests"},
        {"{\"items\":[" + item(",\"bytes_out\":1.5") + "]}", "items[0].bytes_out"},
        {"{\"items\":[" + item(",\"errors\":\"3\"") + "]}", "items[0].errors"},
        {"{\"items\":[" + item(",\"color\":1") + "]}", "items[0].color"},
        {R"({"items":[{"hour":1710028800}]})", "items[0].customer_id"},
        {R"({"items":[{"customer_id":""}]})", "items[0].customer_id"},
        {"{\"items\":[{\"customer_id\":\"" + c.customer_id + "\"}]}", "items[0].hour"},
    };
    for (const auto& [body, field] : unprocessable) {
        const auto res = post(body);
        EXPECT_EQ(res.status, 422) << body << " " << res.body;
        EXPECT_EQ(error_of(res), std::make_pair(std::string("invalid_request"), field)) << body;
    }
    // A batch with one bad item writes nothing.
    EXPECT_EQ(post("{\"items\":[" + item(",\"requests\":9") + "," + item(",\"requests\":-9") + "]}")
                  .status,
              422);
    std::string over = "{\"items\":[";
    for (int i = 0; i < 10'001; ++i) {
        over += (i ? "," : "") + item(",\"requests\":1");
    }
    over += "]}";
    auto res = post(over);
    EXPECT_EQ(res.status, 422);
    EXPECT_EQ(error_of(res).second, "items");
    EXPECT_EQ(post(item(""), "text/plain").status, 415);
    EXPECT_EQ(post("{\"items\":[").status, 400);
    const auto usage = parse_json(api_get(c, "/api/v1/usage?from=2024-03-10&to=2024-03-10").body);
    EXPECT_EQ(usage["items"][0]["requests"].integer(), 0);

    // An empty batch and the largest one are fine.
    EXPECT_EQ(post(R"({"items":[]})").status, 202);
    std::string largest = "{\"items\":[";
    for (int i = 0; i < 10'000; ++i) {
        largest += (i ? "," : "") + item(",\"requests\":1,\"bytes_out\":2");
    }
    largest += "]}";
    res = post(largest);
    EXPECT_EQ(res.status, 202) << res.body;
    const auto after = parse_json(api_get(c, "/api/v1/usage?from=2024-03-10&to=2024-03-10").body);
    EXPECT_EQ(after["items"][0]["requests"].integer(), 10'000);
    EXPECT_EQ(after["items"][0]["bytes_out"].integer(), 20'000);
}

TEST_F(ApiUsageTest, InternalPurgeFansOutToTheEdge) {
    const auto c = add_customer("fanout@example.com");
    start();
    const auto photo = "/" + c.public_key + "/photo.jpg?w=50";
    edge(photo);
    ASSERT_EQ(edge(photo).header("x-cache"), "HIT");
    const auto post = [&](const std::string& body) {
        return request("POST", "/internal/v1/purge", internal_headers("application/json"), body);
    };
    auto res =
        post(R"({"public_key":")" + c.public_key + R"(","scope":"paths","paths":["photo.jpg"]})");
    EXPECT_EQ(res.status, 202) << res.body;
    EXPECT_EQ(parse_json(res.body)["purged"].str(), "paths");
    EXPECT_EQ(edge(photo).header("x-cache"), "MISS");
    EXPECT_EQ(edge(photo).header("x-cache"), "HIT");
    res = post(R"({"public_key":")" + c.public_key + R"(","scope":"all"})");
    EXPECT_EQ(res.status, 202) << res.body;
    EXPECT_EQ(edge(photo).header("x-cache"), "MISS");

    for (const auto* bad : {R"({"scope":"all"})", R"({"public_key":"pk:x","scope":"all"})",
                            R"({"public_key":"pk_a","scope":"paths","paths":[]})",
                            R"({"public_key":"pk_a","scope":"prefix","prefix":""})",
                            R"({"public_key":"pk_a","scope":"all","paths":["a"]})",
                            R"({"public_key":"pk_a","scope":"everything"})"}) {
        res = post(bad);
        EXPECT_EQ(res.status, 422) << bad << " " << res.body;
        EXPECT_EQ(error_of(res).first, "invalid_request") << bad;
    }
    EXPECT_EQ(request("POST", "/internal/v1/purge", internal_headers("text/plain"), "{}").status,
              415);
    EXPECT_EQ(post("not json").status, 400);
}

// ---- GET /openapi.json ---------------------------------------------------------------------

TEST_F(ApiUsageTest, OpenApiDocumentIsServedWithoutCredentialsAndParses) {
    start();
    const auto res = request("GET", "/api/v1/openapi.json");
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(res.header("content-type"), "application/json");
    const auto doc = parse_json(res.body);
    EXPECT_EQ(doc["openapi"].str(), "3.1.0");
    for (const auto* path : {"/api/v1/usage", "/api/v1/usage/quota", "/api/v1/purge",
                             "/api/v1/openapi.json", "/internal/v1/customers/{public_key}",
                             "/internal/v1/hosts/{host}", "/internal/v1/usage",
                             "/internal/v1/purge"}) {
        EXPECT_TRUE(doc["paths"].has(path)) << path;
    }
    EXPECT_TRUE(doc["components"]["schemas"].has("Error"));
}

} // namespace
} // namespace cdn::test
