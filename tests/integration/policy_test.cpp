// Edge policy (delivery.md steps 2–6 and 12, plans.md) against the real binary on loopback:
// rate limits, domain allowlists, signed URLs, plan gates, quota, custom domains, presets,
// usage metering and config changes.
#include <gtest/gtest.h>

#include <chrono>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"
#include "sql_file.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class PolicyTest : public ::testing::Test {
protected:
    /** A customer with two originals; `plan` as plans.md names them. */
    std::string add_customer(const std::string& email, const std::string& plan) {
        return create_account_with_images(dir_.path(), email, plan).public_key;
    }

    void start(Headers env = {}) {
        server_ = std::make_unique<ServerProcess>(dir_.path(), std::move(env));
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    CommandResult cli(std::vector<std::string> args) {
        return run_imagecdn_on(dir_.path(), std::move(args));
    }

    void update(const std::string& pk, std::vector<std::string> args) {
        args.insert(args.begin(), {"customer", "update", pk});
        const auto result = cli(args);
        ASSERT_EQ(result.exit_code, 0) << result.err;
    }

    std::string signing_secret(const std::string& pk) {
        const auto shown = cli({"customer", "show", pk});
        EXPECT_EQ(shown.exit_code, 0) << shown.err;
        return json_string(shown.out, "signing_secret");
    }

    std::string sign(const std::string& url, const std::string& secret) {
        return sign_with_cli(url, secret);
    }

    RawResponse get(const std::string& target, const Headers& headers = {}) {
        auto res = http_request(server_->port(), "GET", target, headers);
        EXPECT_TRUE(res) << target;
        return res ? *res : RawResponse{};
    }

    double metric(const std::string& name_and_labels) {
        return scrape_metric(server_->port(), name_and_labels).value_or(-1.0);
    }

    /** Rows of usage_hourly summed for one customer, read straight from its database. */
    struct UsageRow {
        std::int64_t requests = -1, bytes_out = -1, transforms = -1, cache_hits = -1, errors = -1;
    };
    UsageRow usage_of(const std::string& public_key) {
        const auto rows = sql_query(
            dir_.path(),
            "SELECT CAST(COALESCE(SUM(u.requests),0) AS BIGINT), "
            "CAST(COALESCE(SUM(u.bytes_out),0) AS BIGINT), "
            "CAST(COALESCE(SUM(u.transforms),0) AS BIGINT), "
            "CAST(COALESCE(SUM(u.cache_hits),0) AS BIGINT), "
            "CAST(COALESCE(SUM(u.errors),0) AS BIGINT) FROM usage_hourly u JOIN customers c "
            "ON c.id = u.customer_id WHERE c.public_key = $1",
            {public_key});
        if (rows.empty()) {
            return {};
        }
        const auto column = [&](std::size_t i) { return rows.front().integer(i).value_or(-1); };
        return {column(0), column(1), column(2), column(3), column(4)};
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
};

// ---- 3. Rate limit -------------------------------------------------------------------------

TEST_F(PolicyTest, BurstAboveFreeLimitIsRefusedWithRetryAfterButNotForPro) {
    const auto free_pk = add_customer("free@example.com", "free");
    const auto pro_pk = add_customer("pro@example.com", "pro");
    start();
    const auto burst = [&](const std::string& pk, int n) {
        int limited = 0;
        for (int i = 0; i < n; ++i) {
            const auto res = get("/" + pk + "/logo.png");
            if (res.status == 429) {
                ++limited;
                EXPECT_EQ(error_code(res), "rate_limited");
                EXPECT_EQ(res.header("retry-after"), "1");
            } else {
                EXPECT_EQ(res.status, 200);
            }
        }
        return limited;
    };
    // 200 requests within well under a second, against a limit of 50 per second.
    EXPECT_GT(burst(free_pk, 200), 50);
    EXPECT_EQ(burst(pro_pk, 200), 0);
    EXPECT_GT(metric("imagecdn_rate_limited_total"), 50);
    // Once the window has passed, the free customer is served again (refused polls do not count
    // against the limit, so polling cannot extend the block).
    int status = 0;
    poll_until([&] { return (status = get("/" + free_pk + "/logo.png").status) == 200; });
    EXPECT_EQ(status, 200);
}

// ---- 4. Domain allowlist ---------------------------------------------------------------------

TEST_F(PolicyTest, DomainAllowlistFollowsOriginAndReferer) {
    const auto pk = add_customer("shop@example.com", "free");
    const auto open_pk = add_customer("open@example.com", "free");
    update(pk, {"--settings", R"({"allowed_domains":["example.com","*.shop.test"]})"});
    start();
    const auto url = "/" + pk + "/logo.png";

    const auto exact = get(url, {{"Origin", "https://example.com"}});
    EXPECT_EQ(exact.status, 200);
    EXPECT_EQ(exact.header("access-control-allow-origin"), "https://example.com");
    EXPECT_NE(exact.header("vary").value_or("").find("Origin"), std::string::npos);

    EXPECT_EQ(get(url, {{"Referer", "https://img.shop.test/page.html"}}).status, 200);
    EXPECT_EQ(get(url, {{"Referer", "https://a.b.shop.test/"}}).status, 200);

    const auto bare = get(url, {{"Referer", "https://shop.test/"}});
    EXPECT_EQ(bare.status, 403);
    EXPECT_EQ(error_code(bare), "domain_not_allowed");
    const auto foreign = get(url, {{"Referer", "https://evil.example.net/x"}});
    EXPECT_EQ(foreign.status, 403);
    EXPECT_EQ(error_code(foreign), "domain_not_allowed");
    EXPECT_EQ(get(url, {{"Origin", "https://example.com.evil.net"}}).status, 403);

    // Server to server: no Origin, no Referer.
    const auto direct = get(url);
    EXPECT_EQ(direct.status, 200);
    EXPECT_FALSE(direct.header("access-control-allow-origin"));

    // A customer without an allowlist is open to every site.
    const auto open = get("/" + open_pk + "/logo.png", {{"Referer", "https://evil.example.net/"}});
    EXPECT_EQ(open.status, 200);
    EXPECT_EQ(open.header("access-control-allow-origin"), "*");
}

// ---- 5. Signed URLs --------------------------------------------------------------------------

TEST_F(PolicyTest, SignedUrlsAreVerifiedAndGatedByPlan) {
    const auto pk = add_customer("signed@example.com", "pro");
    const auto free_pk = add_customer("unsigned@example.com", "free");
    const auto secret = signing_secret(pk);
    ASSERT_EQ(secret.size(), 64u);
    start();

    const auto valid = sign("/" + pk + "/photo.jpg?w=100&fm=webp", secret);
    const auto ok = get(valid);
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.header("content-type"), "image/webp");

    const auto expect_refused = [&](const std::string& target, const std::string& code) {
        const auto res = get(target);
        EXPECT_EQ(res.status, 403) << target;
        EXPECT_EQ(error_code(res), code) << target;
    };
    const auto signature = valid.substr(valid.find("&s=") + 3);
    // Tampered path, tampered option, `s` moved before another option, `s` twice.
    expect_refused("/" + pk + "/logo.png?w=100&fm=webp&s=" + signature, "invalid_signature");
    expect_refused("/" + pk + "/photo.jpg?w=101&fm=webp&s=" + signature, "invalid_signature");
    expect_refused("/" + pk + "/photo.jpg?w=100&s=" + signature + "&fm=webp", "invalid_signature");
    expect_refused(valid + "&s=" + signature, "invalid_signature");

    const auto expired =
        sign("/" + pk + "/photo.jpg?w=100&exp=" + std::to_string(unix_now() - 10), secret);
    expect_refused(expired, "signature_expired");
    const auto fresh =
        sign("/" + pk + "/photo.jpg?w=100&exp=" + std::to_string(unix_now() + 600), secret);
    EXPECT_EQ(get(fresh).status, 200);

    // A plan without signed URLs refuses a signature rather than ignoring it.
    const auto free_signed = sign("/" + free_pk + "/photo.jpg?w=100", signing_secret(free_pk));
    expect_refused(free_signed, "feature_not_in_plan");

    // require_signed_urls: unsigned requests are refused, signed ones served.
    EXPECT_EQ(get("/" + pk + "/photo.jpg?w=100").status, 200);
    update(pk, {"--settings", R"({"require_signed_urls":true})"});
    poll_until([&] { return get("/" + pk + "/photo.jpg?w=100").status != 200; });
    expect_refused("/" + pk + "/photo.jpg?w=100", "invalid_signature");
    expect_refused("/" + pk + "/photo.jpg", "invalid_signature");
    EXPECT_EQ(get(valid).status, 200);
    EXPECT_EQ(get(sign("/" + pk + "/photo.jpg", secret)).status, 200);
}

// ---- 6. Plan gates and quota -----------------------------------------------------------------

TEST_F(PolicyTest, PlanGatesAvifAndDimension) {
    const auto free_pk = add_customer("free@example.com", "free");
    const auto pro_pk = add_customer("pro@example.com", "pro");
    start();
    const auto avif = get("/" + free_pk + "/photo.jpg?w=64&format=avif");
    EXPECT_EQ(avif.status, 403);
    EXPECT_EQ(error_code(avif), "feature_not_in_plan");
    // format=auto falls back to WebP on free.
    const auto automatic = get("/" + free_pk + "/photo.jpg?w=64&format=auto",
                               {{"Accept", "image/avif,image/webp,*/*"}});
    EXPECT_EQ(automatic.header("content-type"), "image/webp");
    const auto pro_auto = get("/" + pro_pk + "/photo.jpg?w=64&format=auto",
                              {{"Accept", "image/avif,image/webp,*/*"}});
    EXPECT_EQ(pro_auto.header("content-type"), "image/avif");

    const auto wide = get("/" + free_pk + "/photo.jpg?w=3000");
    EXPECT_EQ(wide.status, 400);
    EXPECT_EQ(error_code(wide), "dimension_too_large");
    EXPECT_EQ(get("/" + pro_pk + "/photo.jpg?w=3000&format=json").status, 200);
    EXPECT_EQ(get("/" + pro_pk + "/photo.jpg?w=5000").status, 400);
}

TEST_F(PolicyTest, FreeCustomerOverQuotaGets402AndPaidIsServedWithOverage) {
    const auto free_pk = add_customer("free@example.com", "free");
    const auto pro_pk = add_customer("pro@example.com", "pro");
    const auto quota = std::to_string(sample_png().size() * 5 / 2);
    start({{"IMAGECDN_PLANS_FREE_BANDWIDTH_QUOTA_BYTES", quota},
           {"IMAGECDN_PLANS_PRO_BANDWIDTH_QUOTA_BYTES", quota}});
    std::vector<int> statuses;
    for (int i = 0; i < 5; ++i) {
        statuses.push_back(get("/" + free_pk + "/logo.png").status);
    }
    // 2.5 originals' worth: the third response crosses the quota, the fourth is refused.
    EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200, 402, 402}));
    const auto refused = get("/" + free_pk + "/logo.png");
    EXPECT_EQ(error_code(refused), "quota_exceeded");

    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(get("/" + pro_pk + "/logo.png").status, 200);
    }
    EXPECT_GE(metric("imagecdn_overage_bytes_total"), static_cast<double>(sample_png().size()));
}

// ---- 7. Custom domains -----------------------------------------------------------------------

TEST_F(PolicyTest, CustomDomainHostServesThePathForItsCustomer) {
    const auto pk = add_customer("brand@example.com", "pro");
    const auto domains = cli({"customer", "domains", pk, "images.brand.test"});
    ASSERT_EQ(domains.exit_code, 0) << domains.err;
    start();
    const auto res = get("/logo.png?v=1", {{"Host", "Images.Brand.Test:8080"}});
    EXPECT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.body, sample_png());
    const auto resized = get("/photo.jpg?w=40&format=json", {{"Host", "images.brand.test"}});
    EXPECT_EQ(resized.status, 200);
    EXPECT_NE(resized.body.find("\"output\":{\"width\":40"), std::string::npos) << resized.body;
    // The same path under any other host is not that customer's.
    EXPECT_EQ(get("/logo.png", {{"Host", "other.example.test"}}).status, 404);
    // The public-key URL keeps working on the custom domain's customer.
    EXPECT_EQ(get("/" + pk + "/logo.png").status, 200);
    // A free plan allows no custom domain.
    const auto free_pk = add_customer("free@example.com", "free");
    EXPECT_EQ(cli({"customer", "domains", free_pk, "free.brand.test"}).exit_code, 2);
}

// ---- Presets -------------------------------------------------------------------------------

TEST_F(PolicyTest, PresetsExpandAndPresetsOnlyRestricts) {
    const auto pk = add_customer("presets@example.com", "pro");
    ASSERT_EQ(cli({"preset", "put", pk, "thumb", "w=48&h=32&fit=cover"}).exit_code, 0);
    EXPECT_EQ(cli({"preset", "put", pk, "bad", "w=oops"}).exit_code, 2);
    start();
    const auto thumb = get("/" + pk + "/photo.jpg?preset=thumb&format=json");
    EXPECT_EQ(thumb.status, 200) << thumb.body;
    EXPECT_NE(thumb.body.find(R"("output":{"width":48,"height":32)"), std::string::npos)
        << thumb.body;
    // The request's own options override the preset's.
    const auto wider = get("/" + pk + "/photo.jpg?preset=thumb&w=64&format=json");
    EXPECT_NE(wider.body.find(R"("output":{"width":64,"height":32)"), std::string::npos)
        << wider.body;
    const auto unknown = get("/" + pk + "/photo.jpg?preset=hero");
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(error_code(unknown), "unknown_preset");

    update(pk, {"--settings", R"({"presets_only":true})"});
    poll_until([&] { return get("/" + pk + "/photo.jpg?w=10").status != 200; });
    const auto free_width = get("/" + pk + "/photo.jpg?w=10");
    EXPECT_EQ(free_width.status, 403);
    EXPECT_EQ(error_code(free_width), "presets_only");
    EXPECT_EQ(get("/" + pk + "/photo.jpg?preset=thumb&w=64").status, 403);
    EXPECT_EQ(get("/" + pk + "/photo.jpg?preset=thumb&v=2").status, 200);
    EXPECT_EQ(get("/" + pk + "/photo.jpg").body, sample_jpeg());
}

// ---- Settings reach responses; config changes are seen at once -------------------------------

TEST_F(PolicyTest, ConfigChangeThroughTheCliIsVisibleAtOnce) {
    const auto pk = add_customer("upgrade@example.com", "free");
    start();
    EXPECT_EQ(get("/" + pk + "/photo.jpg?w=64&format=avif").status, 403);
    EXPECT_EQ(get("/" + pk + "/logo.png").header("cache-control"),
              "public, max-age=31536000, immutable");

    update(pk, {"--plan", "pro", "--settings", R"({"cache_ttl_seconds":600})"});
    // The CLI signals the server (SIGHUP); the next requests see the new plan. The cached config
    // lives for [cache] config_ttl_seconds (300 s by default): seen within the poll's 5 s, the
    // change came from the signal, not from the cache expiring.
    int status = 0;
    poll_until([&] { return (status = get("/" + pk + "/photo.jpg?w=64&format=avif").status) == 200; });
    EXPECT_EQ(status, 200);
    EXPECT_EQ(get("/" + pk + "/logo.png").header("cache-control"), "public, max-age=600");

    update(pk, {"--suspend"});
    poll_until([&] { return get("/" + pk + "/logo.png").status == 403; });
    const auto suspended = get("/" + pk + "/logo.png");
    EXPECT_EQ(suspended.status, 403);
    EXPECT_EQ(error_code(suspended), "customer_suspended");
}

TEST_F(PolicyTest, InvalidOperatorChangesAreRefusedNamingTheField) {
    const auto pk = add_customer("ops@example.com", "free");
    const auto bad_domain = cli({"customer", "update", pk, "--settings",
                                 R"({"allowed_domains":["https://x.com/"]})"});
    EXPECT_EQ(bad_domain.exit_code, 2);
    EXPECT_NE(bad_domain.err.find("allowed_domains"), std::string::npos) << bad_domain.err;
    const auto gated = cli({"customer", "update", pk, "--settings", R"({"require_signed_urls":true})"});
    EXPECT_EQ(gated.exit_code, 2);
    EXPECT_NE(gated.err.find("require_signed_urls"), std::string::npos) << gated.err;
    EXPECT_EQ(cli({"customer", "update", pk, "--plan", "platinum"}).exit_code, 2);
    EXPECT_EQ(cli({"customer", "update", "pk_doesnotexist000000000000", "--plan", "pro"}).exit_code,
              2);
    // Nothing was written.
    const auto shown = cli({"customer", "show", pk});
    EXPECT_NE(shown.out.find(R"("plan":"free")"), std::string::npos);
    EXPECT_NE(shown.out.find(R"("settings":{})"), std::string::npos) << shown.out;
}

// ---- 2. Unknown keys do not reach the database per request ------------------------------------

TEST_F(PolicyTest, UnknownKeyFloodReadsTheDatabaseOnce) {
    add_customer("someone@example.com", "free");
    start();
    const double before = metric("imagecdn_customer_config_loads_total");
    for (int i = 0; i < 200; ++i) {
        const auto res = get("/pk_unknownunknownunknown000/logo.png");
        EXPECT_EQ(res.status, 404);
        EXPECT_EQ(error_code(res), "unknown_customer");
    }
    // Malformed keys are refused before any lookup.
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(get("/pk_short" + std::to_string(i) + "/logo.png").status, 404);
    }
    EXPECT_LE(metric("imagecdn_customer_config_loads_total") - before, 1.0);
}

// ---- 12. Usage -----------------------------------------------------------------------------

TEST_F(PolicyTest, UsageIsFlushedWithExactCountsAndBytes) {
    const auto pk = add_customer("metered@example.com", "pro");
    start({{"IMAGECDN_USAGE_FLUSH_INTERVAL_MS", "200"}});
    const std::vector<std::string> targets{
        "/logo.png", "/logo.png", "/photo.jpg?w=50", "/photo.jpg?w=50", "/missing.png",
        "/photo.jpg?w=70&format=webp", "/photo.jpg",
    };
    std::int64_t bytes = 0;
    int errors = 0;
    for (const auto& target : targets) {
        const auto res = get("/" + pk + target);
        bytes += std::stoll(res.header("content-length").value_or("0"));
        errors += res.status >= 400 ? 1 : 0;
    }
    UsageRow row;
    poll_until([&] {
        return (row = usage_of(pk)).requests >= static_cast<std::int64_t>(targets.size());
    }, std::chrono::seconds(5), std::chrono::milliseconds(100));
    EXPECT_EQ(row.requests, static_cast<std::int64_t>(targets.size()));
    EXPECT_EQ(row.bytes_out, bytes);
    EXPECT_EQ(row.transforms, 2);  // w=50 once (then a hit), w=70 webp
    EXPECT_EQ(row.cache_hits, 2);  // the second logo and the second w=50
    EXPECT_EQ(row.errors, errors);
    EXPECT_EQ(errors, 1);
    EXPECT_GE(metric("imagecdn_usage_flush_lag_seconds"), 0.0);
}

TEST_F(PolicyTest, SigtermRightAfterRequestsLosesNoCounts) {
    const auto pk = add_customer("sigterm@example.com", "pro");
    // Nothing would be written for a minute but for the shutdown.
    start({{"IMAGECDN_USAGE_FLUSH_INTERVAL_MS", "60000"}});
    std::int64_t bytes = 0;
    for (int i = 0; i < 25; ++i) {
        const auto res = get("/" + pk + (i % 2 ? "/logo.png" : "/photo.jpg?w=30"));
        bytes += std::stoll(res.header("content-length").value_or("0"));
    }
    EXPECT_EQ(usage_of(pk).requests, 0);
    EXPECT_EQ(server_->stop(), 0);
    const auto row = usage_of(pk);
    EXPECT_EQ(row.requests, 25);
    EXPECT_EQ(row.bytes_out, bytes);
}

} // namespace
} // namespace cdn::test
