// Issue 13 item 7, against the real binary on loopback: require_signed_urls after a downgrade,
// duplicate Host, Vary on every answer of a customer with an allowlist, max-age against a
// signed URL's exp, the data directory and secret files, the length of our own secrets.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "fixtures.h"
#include "raw_http.h"
#include "server_process.h"
#include "sql_file.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;
using namespace std::chrono_literals;

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

class HardeningTest : public ::testing::Test {
protected:
    Account add_account(const std::string& email, const std::string& plan) {
        return create_account_with_images(dir_.path(), email, plan);
    }

    void start() {
        server_ = std::make_unique<ServerProcess>(dir_.path());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    CommandResult cli(std::vector<std::string> args) {
        return run_imagecdn_on(dir_.path(), std::move(args));
    }

    void settings(const std::string& pk, const std::string& patch) {
        const auto result = cli({"customer", "update", pk, "--settings", patch});
        ASSERT_EQ(result.exit_code, 0) << result.err;
    }

    /** `url` signed with the secret of the customer `pk`. */
    std::string sign(const std::string& url, const std::string& pk) {
        const auto shown = cli({"customer", "show", pk});
        return sign_with_cli(url, json_string(shown.out, "signing_secret"));
    }

    RawResponse get(const std::string& target, const Headers& headers = {}) {
        auto res = http_request(server_->port(), "GET", target, headers);
        EXPECT_TRUE(res) << target;
        return res ? *res : RawResponse{};
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
};

// ---- require_signed_urls on a plan that lost signed URLs ------------------------------------

TEST_F(HardeningTest, RequireSignedUrlsStaysEnforcedWhenThePlanLosesSignedUrls) {
    const auto account = add_account("closed@example.com", "pro");
    const auto& pk = account.public_key;
    settings(pk, R"({"require_signed_urls":true})");
    // The plan changes as a Stripe webhook changes it: the customer's row, settings untouched.
    sql_exec(dir_.path(), "UPDATE customers SET plan = 'free' WHERE public_key = '" + pk + "'");
    start();

    const auto unsigned_get = get("/" + pk + "/photo.jpg?w=100");
    EXPECT_EQ(unsigned_get.status, 403);
    EXPECT_EQ(error_code(unsigned_get), "invalid_signature");
    EXPECT_EQ(error_code(get("/" + pk + "/photo.jpg")), "invalid_signature");
    const auto valid = sign("/" + pk + "/photo.jpg?w=100", pk);
    EXPECT_EQ(get(valid).status, 200);
    const auto tampered = get("/" + pk + "/photo.jpg?w=101&s=" + valid.substr(valid.find("s=") + 2));
    EXPECT_EQ(tampered.status, 403);
    EXPECT_EQ(error_code(tampered), "invalid_signature");

    // The dashboard is told, and can still have URLs signed for it.
    const auto customer = api_call(server_->port(), "GET", "/api/v1/customer", account.api_key);
    ASSERT_EQ(customer.status, 200) << customer.body;
    EXPECT_NE(customer.body.find(R"("notices":[{"code":"feature_not_in_plan","setting":"require_signed_urls","message":")"),
              std::string::npos)
        << customer.body;
    const auto signed_by_api = api_call(server_->port(), "POST", "/api/v1/customer/sign-url",
                                        account.api_key, R"({"path":"logo.png"})");
    ASSERT_EQ(signed_by_api.status, 200) << signed_by_api.body;
    const auto url = json_string(signed_by_api.body, "url");
    EXPECT_EQ(get(url.substr(url.find('/', url.find("//") + 2))).status, 200) << url;

    // Turning it off is allowed, and then the free plan's rules apply: no signatures at all.
    const auto off = api_call(server_->port(), "PATCH", "/api/v1/customer/settings",
                              account.api_key, R"({"require_signed_urls":false})");
    ASSERT_EQ(off.status, 200) << off.body;
    EXPECT_NE(off.body.find(R"("notices":[])"), std::string::npos) << off.body;
    EXPECT_EQ(get("/" + pk + "/photo.jpg?w=100").status, 200);
    EXPECT_EQ(error_code(get(valid)), "feature_not_in_plan");
}

TEST_F(HardeningTest, RequireSignedUrlsStaysEnforcedPastDueBeyondGrace) {
    const auto account = add_account("late@example.com", "pro");
    const auto& pk = account.public_key;
    settings(pk, R"({"require_signed_urls":true})");
    // Past due for 30 days, beyond the 7 days of grace: the free plan's limits apply.
    sql_exec(dir_.path(), "UPDATE customers SET billing_status = 'past_due', past_due_since = " +
                              std::to_string(unix_now() - 30 * 86'400) + " WHERE public_key = '" +
                              pk + "'");
    start();
    EXPECT_EQ(error_code(get("/" + pk + "/photo.jpg?w=100")), "invalid_signature");
    EXPECT_EQ(get(sign("/" + pk + "/photo.jpg?w=100", pk)).status, 200);
    const auto customer = api_call(server_->port(), "GET", "/api/v1/customer", account.api_key);
    EXPECT_NE(customer.body.find(R"("setting":"require_signed_urls")"), std::string::npos)
        << customer.body;
}

TEST_F(HardeningTest, ACustomerWhosePlanHasSignedUrlsHasNoNotice) {
    const auto account = add_account("fine@example.com", "pro");
    settings(account.public_key, R"({"require_signed_urls":true})");
    start();
    const auto customer = api_call(server_->port(), "GET", "/api/v1/customer", account.api_key);
    ASSERT_EQ(customer.status, 200);
    EXPECT_NE(customer.body.find(R"("notices":[])"), std::string::npos) << customer.body;
}

// ---- Duplicate Host -------------------------------------------------------------------------

TEST_F(HardeningTest, ADuplicateHostHeaderIs400AndCloses) {
    const auto pk = add_account("host@example.com", "pro").public_key;
    start();
    for (const char* second : {"Host: other.example\r\n", "host: 127.0.0.1\r\n"}) {
        RawConnection conn(server_->port());
        ASSERT_TRUE(conn.send("GET /" + pk + "/logo.png HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                              second + "\r\n"));
        const auto res = conn.read_response();
        ASSERT_TRUE(res) << second;
        EXPECT_EQ(res->status, 400) << second;
        EXPECT_EQ(error_code(*res), "bad_request") << second;
        EXPECT_TRUE(conn.closed_by_peer(5s)) << second;
    }
    EXPECT_EQ(get("/" + pk + "/logo.png").status, 200);
}

// ---- Vary on every answer of a customer with an allowlist -----------------------------------

TEST_F(HardeningTest, EveryAnswerOfACustomerWithAnAllowlistVariesOnOriginAndReferer) {
    const auto pk = add_account("allow@example.com", "pro").public_key;
    const auto open_pk = add_account("open@example.com", "pro").public_key;
    settings(pk, R"({"allowed_domains":["example.com"]})");
    start();
    const auto varies = [](const RawResponse& res) {
        const auto vary = res.header("vary").value_or("");
        return vary.find("Origin") != std::string::npos &&
               vary.find("Referer") != std::string::npos;
    };
    const Headers from_site{{"Referer", "https://example.com/page"}};
    const auto base = "/" + pk;
    for (int round = 0; round < 2; ++round) { // a miss, then a hit
        const auto original = get(base + "/logo.png", from_site);
        EXPECT_EQ(original.status, 200);
        EXPECT_TRUE(varies(original)) << original.header("vary").value_or("none");
        const auto negotiated = get(base + "/photo.jpg?w=50&format=auto",
                                    {{"Origin", "https://example.com"}, {"Accept", "image/webp"}});
        EXPECT_EQ(negotiated.status, 200);
        EXPECT_TRUE(varies(negotiated)) << negotiated.header("vary").value_or("none");
        EXPECT_NE(negotiated.header("vary")->find("Accept"), std::string::npos);
        // The 404 shared caches may keep for a minute.
        const auto missing = get(base + "/missing.png", from_site);
        EXPECT_EQ(missing.status, 404);
        EXPECT_EQ(missing.header("cache-control"), "public, max-age=60");
        EXPECT_TRUE(varies(missing)) << missing.header("vary").value_or("none");
    }
    const auto not_modified =
        get(base + "/logo.png", {{"Referer", "https://example.com/"},
                                 {"If-None-Match", *get(base + "/logo.png").header("etag")}});
    EXPECT_EQ(not_modified.status, 304);
    EXPECT_TRUE(varies(not_modified));
    const auto refused = get(base + "/logo.png", {{"Referer", "https://evil.example.net/"}});
    EXPECT_EQ(refused.status, 403);
    EXPECT_TRUE(varies(refused));
    const auto bad_option = get(base + "/logo.png?w=abc", from_site);
    EXPECT_EQ(bad_option.status, 400);

    // Without an allowlist the answer is the same for every site.
    const auto open = get("/" + open_pk + "/logo.png", from_site);
    EXPECT_EQ(open.status, 200);
    EXPECT_EQ(open.header("vary").value_or("").find("Referer"), std::string::npos);
}

// ---- max-age against exp --------------------------------------------------------------------

TEST_F(HardeningTest, ASignedAnswerWithExpIsNotCachedBeyondExp) {
    const auto pk = add_account("exp@example.com", "pro").public_key;
    const auto short_pk = add_account("short@example.com", "pro").public_key;
    settings(short_pk, R"({"cache_ttl_seconds":60})");
    start();

    const auto unsigned_answer = get("/" + pk + "/logo.png?w=40");
    EXPECT_EQ(unsigned_answer.header("cache-control"), "public, max-age=31536000, immutable");

    const auto exp = unix_now() + 120;
    const auto with_exp = get(sign("/" + pk + "/logo.png?w=40&exp=" + std::to_string(exp), pk));
    ASSERT_EQ(with_exp.status, 200) << with_exp.body;
    const auto cache_control = with_exp.header("cache-control").value_or("");
    ASSERT_TRUE(cache_control.starts_with("public, max-age=")) << cache_control;
    EXPECT_EQ(cache_control.find("immutable"), std::string::npos) << cache_control;
    const auto max_age = std::stoll(cache_control.substr(cache_control.find('=') + 1));
    EXPECT_LE(max_age, exp - unix_now() + 1);
    EXPECT_GE(max_age, 60); // the request took far less than a minute

    // The customer's own TTL when it is shorter; no exp, the customer's Cache-Control.
    const auto far = unix_now() + 3600;
    const auto capped = get(sign("/" + short_pk + "/logo.png?exp=" + std::to_string(far), short_pk));
    EXPECT_EQ(capped.header("cache-control"), "public, max-age=60");
    EXPECT_EQ(get(sign("/" + pk + "/logo.png", pk)).header("cache-control"),
              "public, max-age=31536000, immutable");
}

// ---- Data directory and secrets -------------------------------------------------------------

TEST(Secrets, TheDataDirectoryIsPrivateAndGeneratedSecretsAre0600) {
    TempDir root;
    const auto data = root.path() + "/var/imagecdn";
    ServerProcess server(data);
    ASSERT_TRUE(server.start()) << server.stderr_text();
    EXPECT_EQ(mode_of(data), 0700u);
    EXPECT_EQ(mode_of(data + "/jwt_secret"), 0600u);
    EXPECT_EQ(read_file(data + "/jwt_secret").size(), 64u);
}

TEST(Secrets, ASecretFileOthersCanReadIsRefusedAtStart) {
    TempDir dir;
    const auto secret = dir.path() + "/jwt_secret";
    {
        ServerProcess first(dir.path());
        ASSERT_TRUE(first.start()) << first.stderr_text();
    }
    ASSERT_EQ(::chmod(secret.c_str(), 0644), 0);
    const auto result =
        run_imagecdn({"serve", "--data-dir", dir.path(), "--listen", "127.0.0.1:0"});
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find(secret), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("chmod 600"), std::string::npos) << result.err;
    EXPECT_EQ(mode_of(secret), 0644u); // refused, not changed behind the operator's back
}

TEST(Secrets, OurOwnSecretsShorterThan32BytesAreRefusedNamingTheKey) {
    TempDir dir;
    const std::map<std::string, std::string> keys{
        {"IMAGECDN_AUTH_JWT_SECRET", "auth.jwt_secret"},
        {"IMAGECDN_AUTH_INTERNAL_SECRET", "auth.internal_secret"},
    };
    for (const auto& [variable, key] : keys) {
        const auto result =
            run_imagecdn({"serve", "--data-dir", dir.path(), "--listen", "127.0.0.1:0"},
                         {{variable, "only-31-bytes-long-0123456789ab"}});
        EXPECT_EQ(result.exit_code, 2) << variable;
        EXPECT_NE(result.err.find(key), std::string::npos) << result.err;
    }
    // Stripe's credentials are Stripe's to judge.
    ServerProcess server(dir.path(), {{"IMAGECDN_STRIPE_WEBHOOK_SECRET", "whsec_x"}});
    EXPECT_TRUE(server.start()) << server.stderr_text();
}

} // namespace
} // namespace cdn::test
