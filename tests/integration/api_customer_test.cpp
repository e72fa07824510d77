// Management API, customer (api.md): the account, its settings (validated as the CLI does and
// seen by the edge at once), custom domains, the URL-signing secret and sign-url, against the
// real binary.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;


bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class ApiCustomerTest : public ::testing::Test {
protected:
    Account add_customer(const std::string& email, const std::string& plan = "free") {
        return create_account_with_images(dir_.path(), email, plan);
    }

    void start() {
        server_ = std::make_unique<ServerProcess>(dir_.path());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    RawResponse call(const std::string& method, const std::string& target, const Account& as,
                     const std::string& body = {}) {
        return api_call(server_->port(), method, target, as.api_key, body);
    }

    RawResponse patch(const Account& as, const std::string& body) {
        return call("PATCH", "/api/v1/customer/settings", as, body);
    }

    RawResponse get(const std::string& target, const Headers& headers = {}) {
        auto res = http_request(server_->port(), "GET", target, headers);
        EXPECT_TRUE(res) << target;
        return res ? *res : RawResponse{};
    }

    /** sign-url's answer as a request target for the edge (the base URL is this server). */
    std::string signed_target(const Account& as, const std::string& body) {
        const auto res = call("POST", "/api/v1/customer/sign-url", as, body);
        EXPECT_EQ(res.status, 200) << body << " " << res.body;
        const auto url = json_string(res.body, "url");
        const auto base = "http://127.0.0.1:" + std::to_string(server_->port());
        EXPECT_TRUE(url.starts_with(base + "/" + as.public_key + "/")) << url;
        return url.starts_with(base) ? url.substr(base.size()) : url;
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(ApiCustomerTest, GetCustomerShowsTheAccount) {
    const auto account = add_customer("me@example.com", "pro");
    start();
    const auto res = call("GET", "/api/v1/customer", account);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_TRUE(json_string(res.body, "id").starts_with("cus_")) << res.body;
    EXPECT_EQ(json_string(res.body, "email"), "me@example.com");
    EXPECT_EQ(json_string(res.body, "plan"), "pro");
    EXPECT_EQ(json_string(res.body, "billing_status"), "active");
    EXPECT_EQ(json_string(res.body, "public_key"), account.public_key);
    EXPECT_TRUE(contains(res.body, R"("settings":{})")) << res.body;
    EXPECT_TRUE(contains(res.body, R"("custom_domains":[])")) << res.body;
    EXPECT_EQ(json_string(res.body, "created_at").size(), 20u);
    EXPECT_FALSE(contains(res.body, "signing_secret"));
    EXPECT_FALSE(contains(res.body, "password"));
    EXPECT_EQ(http_request(server_->port(), "GET", "/api/v1/customer")->status, 401);
}

TEST_F(ApiCustomerTest, SettingsPatchReachesTheEdgeAtOnce) {
    const auto account = add_customer("shop@example.com");
    start();
    const auto url = "/" + account.public_key + "/logo.png";
    const Headers foreign{{"Referer", "https://evil.example.net/page"}};
    EXPECT_EQ(get(url, foreign).status, 200);  // cached by the edge as open to every site

    const auto res = patch(account, R"({"allowed_domains":["Example.com","*.shop.test"],)"
                                    R"("cache_ttl_seconds":600,"default_quality":70})");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_TRUE(contains(res.body, R"("allowed_domains":["example.com","*.shop.test"])"))
        << res.body;
    EXPECT_TRUE(contains(res.body, R"("cache_ttl_seconds":600)"));
    EXPECT_EQ(json_string(res.body, "public_key"), account.public_key);

    // Within the poll's 5 s, not the 300 s the edge caches a customer for: the change is pushed.
    EXPECT_TRUE(poll_until([&] { return get(url, foreign).status == 403; }));
    const auto refused = get(url, foreign);
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(error_code(refused), "domain_not_allowed");
    const auto allowed = get(url, {{"Referer", "https://img.shop.test/"}});
    EXPECT_EQ(allowed.status, 200);
    EXPECT_EQ(allowed.header("cache-control"), "public, max-age=600");

    // null resets a setting; members not sent keep theirs.
    const auto reset = patch(account, R"({"allowed_domains":null})");
    ASSERT_EQ(reset.status, 200) << reset.body;
    EXPECT_FALSE(contains(reset.body, "allowed_domains"));
    EXPECT_TRUE(contains(reset.body, R"("default_quality":70)"));
    poll_until([&] { return get(url, foreign).status == 200; });
    EXPECT_EQ(get(url, foreign).status, 200);

    // GET shows what PATCH answered.
    EXPECT_TRUE(contains(call("GET", "/api/v1/customer", account).body, R"("default_quality":70)"));
}

TEST_F(ApiCustomerTest, InvalidSettingsAreRefusedNamingTheFieldAndNothingIsWritten) {
    const auto account = add_customer("ops@example.com", "pro");
    start();
    const auto expect_invalid = [&](const std::string& body, const std::string& field) {
        const auto res = patch(account, body);
        EXPECT_EQ(res.status, 422) << body << " " << res.body;
        EXPECT_EQ(error_code(res), "invalid_settings") << body;
        EXPECT_EQ(error_field(res), field) << body;
    };
    expect_invalid(R"({"allowed_domains":["https://x.com/"]})", "allowed_domains");
    expect_invalid(R"({"allowed_domains":"example.com"})", "allowed_domains");
    expect_invalid(R"({"default_quality":500})", "default_quality");
    expect_invalid(R"({"default_quality":"80"})", "default_quality");
    expect_invalid(R"({"default_format":"bmp"})", "default_format");
    expect_invalid(R"({"require_signed_urls":"yes"})", "require_signed_urls");
    expect_invalid(R"({"cache_ttl_seconds":-1})", "cache_ttl_seconds");
    expect_invalid(R"({"presets_only":1})", "presets_only");
    expect_invalid(R"({"custom_domains":["*.brand.test"]})", "custom_domains");
    expect_invalid(R"({"custom_domains":"images.brand.test"})", "custom_domains");
    expect_invalid(R"({"plan":"business"})", "plan");
    // All or nothing: valid members beside a bad one are not written either.
    expect_invalid(R"({"default_quality":50,"custom_domains":["img.ok.test"],"presets_only":2})",
                   "presets_only");

    const auto text = http_request(server_->port(), "PATCH", "/api/v1/customer/settings",
                                   {{"X-API-Key", account.api_key}, {"Content-Type", "text/plain"}},
                                   "{}");
    EXPECT_EQ(text->status, 415);
    EXPECT_EQ(patch(account, "[1,2]").status, 400);

    const auto shown = call("GET", "/api/v1/customer", account);
    EXPECT_TRUE(contains(shown.body, R"("settings":{})")) << shown.body;
    EXPECT_TRUE(contains(shown.body, R"("custom_domains":[])")) << shown.body;
}

TEST_F(ApiCustomerTest, PlanGatedSettingsAreRefusedWith403) {
    const auto free = add_customer("free@example.com");
    start();
    auto res = patch(free, R"({"require_signed_urls":true})");
    EXPECT_EQ(res.status, 403) << res.body;
    EXPECT_EQ(error_code(res), "feature_not_in_plan");
    EXPECT_EQ(error_field(res), "require_signed_urls");
    res = patch(free, R"({"custom_domains":["images.free.test"]})");
    EXPECT_EQ(res.status, 403) << res.body;
    EXPECT_EQ(error_code(res), "feature_not_in_plan");
    EXPECT_EQ(error_field(res), "custom_domains");
    res = patch(free, R"({"default_format":"avif"})");
    EXPECT_EQ(res.status, 403);
    EXPECT_EQ(error_field(res), "default_format");
    // require_signed_urls: false is allowed on every plan.
    EXPECT_EQ(patch(free, R"({"require_signed_urls":false})").status, 200);
}

TEST_F(ApiCustomerTest, CustomDomainsAreGatedUniqueAndServedAtOnce) {
    const auto brand = add_customer("brand@example.com", "pro");
    const auto rival = add_customer("rival@example.com", "pro");
    put_original(dir_.path(), rival.public_key, "rival-only.png", sample_png());
    start();
    // The pro plan allows one custom domain.
    auto res = patch(brand, R"({"custom_domains":["a.brand.test","b.brand.test"]})");
    EXPECT_EQ(res.status, 403) << res.body;
    EXPECT_EQ(error_code(res), "feature_not_in_plan");
    EXPECT_EQ(error_field(res), "custom_domains");

    res = patch(brand, R"({"custom_domains":["Images.Brand.Test"]})");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_TRUE(contains(res.body, R"("custom_domains":["images.brand.test"])")) << res.body;
    const auto served = get("/logo.png", {{"Host", "images.brand.test"}});
    EXPECT_EQ(served.status, 200) << served.body;
    EXPECT_EQ(served.body, sample_png());

    // Another customer cannot take the same host.
    res = patch(rival, R"({"custom_domains":["images.brand.test"],"default_quality":10})");
    EXPECT_EQ(res.status, 409) << res.body;
    EXPECT_EQ(error_code(res), "conflict");
    EXPECT_EQ(error_field(res), "custom_domains");
    EXPECT_TRUE(contains(call("GET", "/api/v1/customer", rival).body, R"("settings":{})"));

    // Setting the same host again is fine; clearing frees it for the rival.
    EXPECT_EQ(patch(brand, R"({"custom_domains":["images.brand.test"]})").status, 200);
    res = patch(brand, R"({"custom_domains":[]})");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_TRUE(contains(res.body, R"("custom_domains":[])"));
    EXPECT_EQ(patch(rival, R"({"custom_domains":["images.brand.test"]})").status, 200);
    // The host now serves the rival's originals (a path only the rival has).
    const auto rival_only = [&] {
        return get("/rival-only.png", {{"Host", "images.brand.test"}}).status;
    };
    poll_until([&] { return rival_only() == 200; });
    EXPECT_EQ(rival_only(), 200);
}

TEST_F(ApiCustomerTest, SigningSecretRotationKillsOldSignedUrls) {
    const auto account = add_customer("signed@example.com", "pro");
    start();
    const auto before = signed_target(account, R"({"path":"photo.jpg","options":"w=100"})");
    EXPECT_TRUE(contains(before, "?w=100&s=")) << before;
    EXPECT_EQ(get(before).status, 200);

    const auto rotated = call("POST", "/api/v1/customer/signing-secret/rotate", account);
    ASSERT_EQ(rotated.status, 200) << rotated.body;
    const auto secret = json_string(rotated.body, "signing_secret");
    EXPECT_EQ(secret.size(), 64u);
    EXPECT_FALSE(contains(call("GET", "/api/v1/customer", account).body, secret));

    // Within the poll's 5 s, not the 300 s the edge caches a customer for: the change is pushed.
    EXPECT_TRUE(poll_until([&] { return get(before).status == 403; }));
    const auto old = get(before);
    EXPECT_EQ(old.status, 403);
    EXPECT_EQ(error_code(old), "invalid_signature");

    const auto after = signed_target(account, R"({"path":"photo.jpg","options":"w=100"})");
    EXPECT_NE(after, before);
    EXPECT_EQ(get(after).status, 200);

    // The CLI sees the same secret.
    const auto shown = run_imagecdn({"customer", "show", account.public_key, "--data-dir", dir_.path()});
    EXPECT_EQ(json_string(shown.out, "signing_secret"), secret);
}

TEST_F(ApiCustomerTest, SignUrlIsServedByTheEdgeAndRequiredSigningHonoursIt) {
    const auto account = add_customer("builder@example.com", "pro");
    put_original(dir_.path(), account.public_key, "my photos/a b+c.jpg", sample_jpeg());
    start();
    const auto plain = signed_target(account, R"({"path":"logo.png"})");
    EXPECT_TRUE(contains(plain, "/logo.png?s=")) << plain;
    const auto original = get(plain);
    EXPECT_EQ(original.status, 200);
    EXPECT_EQ(original.body, sample_png());

    const auto encoded = signed_target(
        account, R"({"path":"my photos/a b+c.jpg","options":"w=64&format=json"})");
    EXPECT_TRUE(contains(encoded, "/my%20photos/a%20b%2Bc.jpg?w=64&format=json&s=")) << encoded;
    const auto described = get(encoded);
    EXPECT_EQ(described.status, 200) << described.body;
    EXPECT_TRUE(contains(described.body, R"("output":{"width":64)")) << described.body;

    const auto expiring =
        signed_target(account, R"({"path":"photo.jpg","options":"w=32","expires_in":600})");
    EXPECT_TRUE(contains(expiring, "?w=32&exp=")) << expiring;
    EXPECT_EQ(get(expiring).status, 200);

    // Unsigned requests stop working once signing is required; signed ones keep working.
    ASSERT_EQ(patch(account, R"({"require_signed_urls":true})").status, 200);
    poll_until([&] { return get("/" + account.public_key + "/photo.jpg?w=32").status == 403; });
    const auto unsigned_res = get("/" + account.public_key + "/photo.jpg?w=32");
    EXPECT_EQ(unsigned_res.status, 403);
    EXPECT_EQ(error_code(unsigned_res), "invalid_signature");
    EXPECT_EQ(get(expiring).status, 200);
    EXPECT_EQ(get(plain).status, 200);
}

TEST_F(ApiCustomerTest, SignUrlValidatesItsRequest) {
    const auto account = add_customer("careful@example.com", "pro");
    const auto free = add_customer("free@example.com");
    start();
    const auto expect_invalid = [&](const std::string& body, const std::string& field) {
        const auto res = call("POST", "/api/v1/customer/sign-url", account, body);
        EXPECT_EQ(res.status, 422) << body << " " << res.body;
        EXPECT_EQ(error_code(res), "invalid_request") << body;
        EXPECT_EQ(error_field(res), field) << body;
    };
    expect_invalid(R"({})", "path");
    expect_invalid(R"({"path":""})", "path");
    expect_invalid(R"({"path":"../secret.jpg"})", "path");
    expect_invalid(R"({"path":"/photo.jpg"})", "path");
    expect_invalid(R"({"path":")" + std::string(1025, 'a') + "\"}", "path");
    expect_invalid(R"({"path":"photo.jpg","options":"w=abc"})", "options");
    expect_invalid(R"({"path":"photo.jpg","options":"bogus=1"})", "options");
    expect_invalid(R"({"path":"photo.jpg","options":"w=10&s=abc"})", "options");
    expect_invalid(R"({"path":"photo.jpg","options":"preset=missing"})", "options");
    expect_invalid(R"({"path":"photo.jpg","options":"exp=99999999999","expires_in":5})", "options");
    expect_invalid(R"({"path":"photo.jpg","expires_in":0})", "expires_in");
    expect_invalid(R"({"path":"photo.jpg","expires_in":31536001})", "expires_in");
    expect_invalid(R"({"path":"photo.jpg","expires_in":"60"})", "expires_in");
    expect_invalid(R"({"path":"photo.jpg","secret":"x"})", "secret");

    // A plan without signed URLs gets no URL the edge would refuse.
    const auto gated = call("POST", "/api/v1/customer/sign-url", free, R"({"path":"photo.jpg"})");
    EXPECT_EQ(gated.status, 403) << gated.body;
    EXPECT_EQ(error_code(gated), "feature_not_in_plan");
}

} // namespace
} // namespace cdn::test
