// Billing (api.md): the public plan list, read from the config.
#include <gtest/gtest.h>

#include "fixtures.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

TEST(ApiBilling, PlansArePublicCheapestFirstAndFollowTheConfig) {
    TempDir dir;
    ServerProcess server(dir.path(), {{"IMAGECDN_PLANS_PRO_PRICE_USD", "25"},
                                      {"IMAGECDN_PLANS_PRO_MAX_DIMENSION", "5000"}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto res = http_request(server.port(), "GET", "/api/v1/billing/plans");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
    const auto& body = res->body;
    const auto free_at = body.find(R"("name":"free")");
    const auto pro_at = body.find(R"("name":"pro")");
    const auto business_at = body.find(R"("name":"business")");
    ASSERT_NE(free_at, std::string::npos) << body;
    EXPECT_LT(free_at, pro_at);
    EXPECT_LT(pro_at, business_at);
    EXPECT_NE(body.find(R"("stripe_price_id":null)"), std::string::npos) << body;
    EXPECT_NE(body.find(R"("stripe_price_id":"price_pro")"), std::string::npos);
    // The config's values, not the built-in ones.
    const auto pro = body.substr(pro_at, business_at - pro_at);
    EXPECT_NE(pro.find(R"("price_usd":25,)"), std::string::npos) << pro;
    EXPECT_NE(pro.find(R"("max_dimension":5000)"), std::string::npos) << pro;
    EXPECT_NE(pro.find(R"("avif":true)"), std::string::npos);
}

/** Without a Stripe secret key, billing can never work: the plans say so, and checkout and
 *  portal answer 501 billing_not_configured (not 502 billing_unavailable, an outage). */
TEST(ApiBilling, WithoutAStripeKeyBillingIsNotConfigured) {
    TempDir dir;
    const auto account = create_account(dir.path(), "nobilling@example.com");
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto plans = http_request(server.port(), "GET", "/api/v1/billing/plans");
    ASSERT_TRUE(plans);
    EXPECT_NE(plans->body.find(R"("billing_enabled":false)"), std::string::npos) << plans->body;
    const auto checkout = api_call(server.port(), "POST", "/api/v1/billing/checkout",
                                   account.api_key, R"({"plan":"pro"})");
    EXPECT_EQ(checkout.status, 501) << checkout.body;
    EXPECT_EQ(error_code(checkout), "billing_not_configured");
    const auto portal =
        api_call(server.port(), "POST", "/api/v1/billing/portal", account.api_key, "{}");
    EXPECT_EQ(portal.status, 501) << portal.body;
    EXPECT_EQ(error_code(portal), "billing_not_configured");
}

TEST(ApiBilling, WithAStripeKeyBillingIsEnabled) {
    TempDir dir;
    ServerProcess server(dir.path(), {{"IMAGECDN_STRIPE_SECRET_KEY", "sk_test_configured"}});
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto plans = http_request(server.port(), "GET", "/api/v1/billing/plans");
    ASSERT_TRUE(plans);
    EXPECT_NE(plans->body.find(R"("billing_enabled":true)"), std::string::npos) << plans->body;
}

} // namespace
} // namespace cdn::test
