// Billing on Stripe (issue 7, api.md Billing and Webhooks) against the real binary and a fake
// Stripe on loopback that speaks Stripe's wire format and signs webhooks with the official
// `stripe` package.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "fake_stripe.h"
#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"
#include "sql_file.h"

namespace cdn::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* WEBHOOK_SECRET = "whsec_test_billing_0123456789";
constexpr std::int64_t DAY = 86'400;

std::int64_t now_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }

/** A server whose [stripe] points at a fake Stripe that delivers webhooks back to it. */
class Billing : public ::testing::Test {
protected:
    /** The fake first (it must know where to deliver), then the server on that port. */
    void start() {
        const int port = free_port();
        ASSERT_TRUE(stripe_.start("http://127.0.0.1:" + std::to_string(port) +
                                      "/api/v1/webhooks/stripe",
                                  WEBHOOK_SECRET))
            << stripe_.stderr_text();
        auto env = stripe_env();
        env.insert(extra_env_.begin(), extra_env_.end());
        server_ = std::make_unique<ServerProcess>(dir_.path(), env);
        server_->use_port(port);
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
        account_ = create_account(dir_.path(), "billing@example.com", "free");
        put_original(dir_.path(), account_.public_key, "photo.jpg", sample_jpeg());
    }

    void TearDown() override {
        if (server_) {
            EXPECT_EQ(server_->stop(std::chrono::seconds(10)), 0) << "a clean, prompt exit";
        }
    }

    std::map<std::string, std::string> stripe_env() const {
        return {{"IMAGECDN_STRIPE_API_BASE", stripe_.base_url()},
                {"IMAGECDN_STRIPE_SECRET_KEY", FakeStripe::SECRET_KEY},
                {"IMAGECDN_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET},
                {"IMAGECDN_STRIPE_TIMEOUT_MS", "1000"}};
    }

    RawResponse api(std::string_view method, const std::string& target,
                    const std::string& body = {}) {
        return api_call(server_->port(), method, target, account_.api_key, body);
    }

    RawResponse image(const std::string& query) {
        auto res = http_request(server_->port(), "GET",
                                "/" + account_.public_key + "/photo.jpg?" + query);
        EXPECT_TRUE(res);
        return res.value_or(RawResponse{});
    }

    json::object customer() { return json::parse(api("GET", "/api/v1/customer").body).as_object(); }

    std::string plan() { return std::string(customer().at("plan").as_string()); }

    /** Checkout for `plan` through our API, then "Pay" on the fake's hosted page, which
     *  delivers customer.subscription.created, checkout.session.completed and invoice.paid. */
    std::string checkout_and_pay(const std::string& plan_name) {
        const auto res = api("POST", "/api/v1/billing/checkout", R"({"plan":")" + plan_name + "\"}");
        EXPECT_EQ(res.status, 200) << res.body;
        const auto url = json_string(res.body, "url");
        const auto path = url.substr(stripe_.base_url().size());
        EXPECT_TRUE(path.starts_with("/checkout/cs_")) << url;
        const auto paid = http_request(stripe_.port(), "POST", path + "/pay");
        EXPECT_TRUE(paid);
        if (paid) {
            EXPECT_EQ(paid->status, 303) << paid->body;
            EXPECT_NE(paid->header("location").value_or("").find("/dashboard/billing"),
                      std::string::npos);
        }
        return path.substr(std::string_view("/checkout/").size());
    }

    /** The live subscription the fake holds for our customer. */
    std::string subscription_id() {
        return sql_text(dir_.path(), "SELECT stripe_subscription_id FROM customers WHERE id = '" +
                                         account_.customer_id + "'");
    }

    std::string stripe_customer_id() {
        return sql_text(dir_.path(), "SELECT stripe_customer_id FROM customers WHERE id = '" +
                                         account_.customer_id + "'");
    }

    /** Posts `payload` to the webhook with `signature` as Stripe-Signature. */
    RawResponse post_webhook(const std::string& payload, const std::string& signature) {
        auto res = http_request(server_->port(), "POST", "/api/v1/webhooks/stripe",
                                {{"Content-Type", "application/json"},
                                 {"Stripe-Signature", signature}},
                                payload);
        EXPECT_TRUE(res);
        return res.value_or(RawResponse{});
    }

    TempDir dir_;
    FakeStripe stripe_;
    std::unique_ptr<ServerProcess> server_;
    Account account_;
    /** Set before start(): more server environment. */
    std::map<std::string, std::string> extra_env_;
};

TEST_F(Billing, CheckoutSpeaksStripesWireFormatAndTheCompletedWebhookUpgradesTheEdgeAtOnce) {
    start();
    EXPECT_EQ(image("w=64&format=avif").status, 403) << "free has no AVIF";

    const auto res = api("POST", "/api/v1/billing/checkout", R"({"plan":"pro"})");
    ASSERT_EQ(res.status, 200) << res.body;
    const auto requests = stripe_.requests();
    ASSERT_EQ(requests.size(), 2u) << json::serialize(requests);

    // 1. The Stripe customer, created on first use with our id in its metadata.
    const auto& create = requests[0].as_object();
    EXPECT_EQ(create.at("method"), "POST");
    EXPECT_EQ(create.at("path"), "/v1/customers");
    EXPECT_EQ(form_value(requests[0], "email"), "billing@example.com");
    EXPECT_EQ(form_value(requests[0], "metadata[customer_id]"), account_.customer_id);
    const auto& headers = create.at("headers").as_object();
    EXPECT_EQ(headers.at("authorization").as_string(), std::string("Bearer ") + FakeStripe::SECRET_KEY);
    EXPECT_EQ(headers.at("content-type"), "application/x-www-form-urlencoded");
    EXPECT_TRUE(headers.at("idempotency-key").is_string());

    // 2. The Checkout Session.
    const auto& session = requests[1].as_object();
    EXPECT_EQ(session.at("path"), "/v1/checkout/sessions");
    EXPECT_EQ(form_value(requests[1], "mode"), "subscription");
    EXPECT_EQ(form_value(requests[1], "client_reference_id"), account_.customer_id);
    EXPECT_EQ(form_value(requests[1], "line_items[0][price]"), "price_pro");
    EXPECT_EQ(form_value(requests[1], "line_items[0][quantity]"), "1");
    EXPECT_TRUE(form_value(requests[1], "customer").starts_with("cus_"));
    EXPECT_NE(form_value(requests[1], "success_url").find("/dashboard/billing?checkout=success"),
              std::string::npos);
    EXPECT_NE(form_value(requests[1], "cancel_url").find("/dashboard/billing"),
              std::string::npos);
    EXPECT_TRUE(session.at("headers").as_object().at("idempotency-key").is_string());
    EXPECT_NE(session.at("headers").at("idempotency-key"),
              create.at("headers").at("idempotency-key"));

    // Paying delivers the signed webhooks; the plan and the edge follow at once.
    const auto url = json_string(res.body, "url");
    const auto paid = http_request(stripe_.port(), "POST",
                                   url.substr(stripe_.base_url().size()) + "/pay");
    ASSERT_TRUE(paid);
    EXPECT_EQ(paid->status, 303);
    const auto now = customer();
    EXPECT_EQ(now.at("plan"), "pro");
    EXPECT_EQ(now.at("billing_status"), "active");
    EXPECT_TRUE(subscription_id().starts_with("sub_"));
    const auto avif = image("w=64&format=avif");
    EXPECT_EQ(avif.status, 200) << avif.body;
    EXPECT_EQ(avif.header("content-type"), "image/avif");

    // The next checkout reuses the Stripe customer; the current plan is a conflict.
    stripe_.clear_requests();
    const auto again = api("POST", "/api/v1/billing/checkout", R"({"plan":"pro"})");
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(error_code(again), "already_on_plan");
    const auto other = api("POST", "/api/v1/billing/checkout", R"({"plan":"business"})");
    EXPECT_EQ(other.status, 409) << other.body;
    EXPECT_EQ(stripe_.requests().size(), 0u) << "no second Stripe customer";
}

TEST_F(Billing, CheckoutRefusesUnknownAndFreePlans) {
    start();
    for (const auto* body : {R"({"plan":"gold"})", R"({"plan":"free"})", R"({"plan":7})", "{}"}) {
        const auto res = api("POST", "/api/v1/billing/checkout", body);
        EXPECT_EQ(res.status, 422) << body << " " << res.body;
        EXPECT_EQ(error_code(res), "invalid_request");
        EXPECT_EQ(error_field(res), "plan");
    }
    EXPECT_EQ(api("POST", "/api/v1/billing/checkout", "{").status, 400);
    EXPECT_EQ(stripe_.requests().size(), 0u);
    const auto anonymous = http_request(server_->port(), "POST", "/api/v1/billing/checkout",
                                        {{"Content-Type", "application/json"}}, R"({"plan":"pro"})");
    ASSERT_TRUE(anonymous);
    EXPECT_EQ(anonymous->status, 401);
}

TEST_F(Billing, PortalAndInvoicesComeFromStripe) {
    start();
    EXPECT_EQ(json::parse(api("GET", "/api/v1/billing/invoices").body).at("items").as_array().size(),
              0u)
        << "no Stripe customer yet: no invoices, and no Stripe call";
    checkout_and_pay("pro");
    stripe_.create_invoice(stripe_customer_id(), 2000, "usd", "open");

    const auto invoices = api("GET", "/api/v1/billing/invoices");
    ASSERT_EQ(invoices.status, 200) << invoices.body;
    const auto items = json::parse(invoices.body).at("items").as_array();
    ASSERT_EQ(items.size(), 2u) << invoices.body; // checkout's paid invoice + the open one
    bool saw_open = false;
    for (const auto& item : items) {
        const auto& invoice = item.as_object();
        EXPECT_TRUE(invoice.at("id").as_string().starts_with("in_"));
        EXPECT_EQ(invoice.at("currency"), "usd");
        EXPECT_EQ(invoice.at("created").as_string().size(), 20u) << "RFC 3339 in UTC";
        EXPECT_TRUE(invoice.at("hosted_invoice_url").is_string());
        if (invoice.at("status") == "open") {
            saw_open = true;
            EXPECT_EQ(invoice.at("amount"), 2000);
        }
    }
    EXPECT_TRUE(saw_open);

    stripe_.clear_requests();
    const auto portal = api("POST", "/api/v1/billing/portal");
    ASSERT_EQ(portal.status, 200) << portal.body;
    EXPECT_NE(json_string(portal.body, "url").find("/portal/"), std::string::npos);
    const auto requests = stripe_.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].at("path"), "/v1/billing_portal/sessions");
    EXPECT_EQ(form_value(requests[0], "customer"), stripe_customer_id());
    EXPECT_NE(form_value(requests[0], "return_url").find("/dashboard/billing"), std::string::npos);
}

TEST_F(Billing, ReplayedEventChangesNothingAndIsRecordedOnce) {
    start();
    checkout_and_pay("pro");
    const json::object invoice{{"id", "in_replay"}, {"object", "invoice"},
                               {"customer", stripe_customer_id()}};
    const auto t = now_unix();
    const auto failed = stripe_.deliver("invoice.payment_failed", invoice, t, "evt_failed_1");
    EXPECT_EQ(failed.at("status"), 200) << json::serialize(failed);
    EXPECT_EQ(customer().at("billing_status"), "past_due");
    const auto paid = stripe_.deliver("invoice.paid", invoice, t + 1, "evt_paid_1");
    EXPECT_EQ(paid.at("status"), 200);
    EXPECT_EQ(customer().at("billing_status"), "active");

    const auto replay = stripe_.deliver("invoice.payment_failed", invoice, t, "evt_failed_1");
    EXPECT_EQ(replay.at("status"), 200) << "a replay is acknowledged";
    EXPECT_NE(json::serialize(replay.at("body")).find(R"(\"applied\":false)"), std::string::npos)
        << json::serialize(replay);
    EXPECT_EQ(customer().at("billing_status"), "active") << "and changes nothing";
    EXPECT_EQ(sql_integer(dir_.path(), "SELECT COUNT(*) FROM webhook_events WHERE id = 'evt_failed_1'"),
              1);

    const auto unknown = stripe_.deliver("charge.refunded", json::object{{"id", "ch_1"}}, t);
    EXPECT_EQ(unknown.at("status"), 200) << "unknown types are acknowledged";
}

TEST_F(Billing, SignaturesAreVerifiedWithStripesOwnScheme) {
    start();
    const auto payload = std::string(R"({"id":"evt_sig","object":"event","type":"invoice.paid",)") +
                         R"("created":)" + std::to_string(now_unix()) +
                         R"(,"data":{"object":{"id":"in_1","customer":"cus_nobody"}}})";
    const auto now = now_unix();
    const auto good = post_webhook(payload, stripe_.sign(payload, WEBHOOK_SECRET, now));
    EXPECT_EQ(good.status, 200) << good.body;

    const auto check_refused = [&](const std::string& signature, const char* what) {
        const auto res = post_webhook(payload, signature);
        EXPECT_EQ(res.status, 400) << what << ": " << res.body;
        EXPECT_EQ(error_code(res), "invalid_signature") << what;
    };
    check_refused(stripe_.sign(payload, "whsec_someone_else", now), "another secret");
    // Well past the 300 s tolerance, so a slow machine cannot bring them back inside it (the
    // exact boundary is unit-tested with an injected clock in stripe_signature_test.cpp).
    check_refused(stripe_.sign(payload, WEBHOOK_SECRET, now - 330), "330 s old");
    check_refused(stripe_.sign(payload, WEBHOOK_SECRET, now + 330), "330 s ahead");
    check_refused("", "no header");
    check_refused("t=" + std::to_string(now), "no v1");
    const auto tampered = post_webhook(payload + " ", stripe_.sign(payload, WEBHOOK_SECRET, now));
    EXPECT_EQ(tampered.status, 400) << "a body changed after signing";

    // Several v1 values (a secret being rolled): one valid is enough.
    const auto valid = stripe_.sign(payload, WEBHOOK_SECRET, now - 200);
    const auto v1 = valid.substr(valid.find("v1="));
    const auto rolled = post_webhook(payload, "t=" + std::to_string(now - 200) + ",v1=" +
                                                  std::string(64, 'a') + "," + v1);
    EXPECT_EQ(rolled.status, 200) << rolled.body;
}

TEST_F(Billing, SubscriptionDeletedFallsBackToFreeAndAvifIsRefusedAgain) {
    start();
    checkout_and_pay("pro");
    ASSERT_EQ(image("w=64&format=avif").status, 200);
    const auto cancelled = stripe_.update_subscription(subscription_id(), "", "canceled", true);
    EXPECT_EQ(cancelled.at("delivery").at("status"), 200) << json::serialize(cancelled);
    EXPECT_EQ(plan(), "free");
    const auto refused = image("w=64&format=avif");
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(error_code(refused), "feature_not_in_plan");
}

TEST_F(Billing, PaymentFailedKeepsThePlanThroughGraceThenFreeLimitsUntilPaid) {
    start();
    checkout_and_pay("pro");
    const json::object invoice{{"id", "in_due"}, {"object", "invoice"},
                               {"customer", stripe_customer_id()}};
    // Failed just now: past due, still pro inside the grace period (7 days by default).
    stripe_.deliver("invoice.payment_failed", invoice, now_unix() + 1);
    EXPECT_EQ(customer().at("billing_status"), "past_due");
    EXPECT_EQ(image("w=64&format=avif").status, 200) << "inside the grace period";
    stripe_.deliver("invoice.paid", invoice, now_unix() + 2);
    EXPECT_EQ(customer().at("billing_status"), "active");

    // Another pro customer whose payment failed 8 days ago. Time is injected through the
    // event's `created` (Stripe retries deliveries for days), not slept.
    account_ = create_account(dir_.path(), "late@example.com", "free");
    put_original(dir_.path(), account_.public_key, "photo.jpg", sample_jpeg());
    const auto stripe_customer = stripe_.create_customer("late@example.com");
    const auto made = stripe_.create_subscription(
        stripe_customer, "price_pro", "active",
        json::object{{"customer_id", account_.customer_id}, {"plan", "pro"}}, true);
    EXPECT_EQ(made.at("delivery").at("status"), 200) << json::serialize(made);
    ASSERT_EQ(plan(), "pro");
    ASSERT_EQ(image("w=64&format=avif").status, 200);
    const json::object late_invoice{{"id", "in_late"}, {"object", "invoice"},
                                    {"customer", stripe_customer}};
    stripe_.deliver("invoice.payment_failed", late_invoice, now_unix() - 8 * 86'400);
    const auto refused = image("w=64&format=avif");
    EXPECT_EQ(refused.status, 403) << "free limits after the grace period";
    EXPECT_EQ(error_code(refused), "feature_not_in_plan");
    EXPECT_EQ(customer().at("plan"), "pro") << "the plan is kept, only its limits lapse";
    EXPECT_EQ(customer().at("billing_status"), "past_due");

    stripe_.deliver("invoice.paid", late_invoice, now_unix());
    EXPECT_EQ(customer().at("billing_status"), "active");
    EXPECT_EQ(image("w=64&format=avif").status, 200) << "paid: pro limits again at once";
}

TEST_F(Billing, AnOlderSubscriptionUpdateArrivingLateDoesNotRollThePlanBack) {
    start();
    checkout_and_pay("pro");
    const auto sub = subscription_id();
    const auto base = now_unix();
    const auto subscription_with = [&](const char* price) {
        json::object item{{"id", "si_1"}, {"price", json::object{{"id", price}}}};
        json::object items{{"object", "list"}, {"data", json::array{item}}};
        return json::object{{"id", sub},
                            {"object", "subscription"},
                            {"customer", stripe_customer_id()},
                            {"status", "active"},
                            {"items", items}};
    };
    EXPECT_EQ(stripe_.deliver("customer.subscription.updated", subscription_with("price_business"),
                              base + 10)
                  .at("status"),
              200);
    EXPECT_EQ(plan(), "business");
    // The downgrade to pro happened earlier (created base + 5) but arrives now: ignored.
    stripe_.deliver("customer.subscription.updated", subscription_with("price_pro"), base + 5);
    EXPECT_EQ(plan(), "business");
    stripe_.deliver("customer.subscription.updated", subscription_with("price_pro"), base + 20);
    EXPECT_EQ(plan(), "pro") << "a newer one applies";
}

TEST_F(Billing, StripeFailingOrHangingIs502WithinTheTimeout) {
    start();
    stripe_.set_mode("error500");
    const auto failing = api("POST", "/api/v1/billing/checkout", R"({"plan":"pro"})");
    EXPECT_EQ(failing.status, 502) << failing.body;
    EXPECT_EQ(error_code(failing), "billing_unavailable");

    stripe_.set_mode("hang");
    const auto started = std::chrono::steady_clock::now();
    const auto hanging = api("POST", "/api/v1/billing/portal");
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(hanging.status, 502) << hanging.body;
    EXPECT_EQ(error_code(hanging), "billing_unavailable");
    // Cut by [stripe] timeout_ms (1000): not before it, and long before a client that waited
    // for the hanging Stripe would have given up.
    EXPECT_LT(took, 5s) << "[stripe] timeout_ms is 1000";
    EXPECT_GE(took, 900ms);
    stripe_.set_mode("ok");
    EXPECT_EQ(plan(), "free") << "nothing changed";
}

TEST_F(Billing, OverageIsReportedOncePerCustomerAndDayAcrossARetry) {
    extra_env_ = {{"IMAGECDN_PLANS_PRO_BANDWIDTH_QUOTA_BYTES", "1000"}};
    start();
    checkout_and_pay("pro");
    // Two finished days of one month: 1500 bytes (500 over the quota), then 700 (all over).
    auto second = (now_unix() / DAY - 2) * DAY;
    auto first = second - DAY;
    while (std::gmtime(&first)->tm_mon != std::gmtime(&second)->tm_mon) {
        first -= DAY;
        second -= DAY;
    }
    sql_exec(dir_.path(),
             "INSERT INTO usage_hourly (customer_id, hour, requests, bytes_out) VALUES ('" +
                 account_.customer_id + "', " + std::to_string(first + 3600) + ", 3, 1500), ('" +
                 account_.customer_id + "', " + std::to_string(second + 7200) + ", 2, 700)");
    auto env = stripe_env();
    env["IMAGECDN_PLANS_PRO_BANDWIDTH_QUOTA_BYTES"] = "1000";
    const std::vector<std::string> report{"billing", "report-overage", "--data-dir", dir_.path()};

    stripe_.clear_requests();
    stripe_.set_mode("error500");
    const auto failed = run_imagecdn(report, env);
    EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
    EXPECT_EQ(stripe_.meter_events().size(), 0u);
    stripe_.set_mode("ok");

    const auto retried = run_imagecdn(report, env);
    EXPECT_EQ(retried.exit_code, 0) << retried.out << retried.err;
    EXPECT_NE(retried.out.find(R"("sent":2)"), std::string::npos) << retried.out;
    const auto again = run_imagecdn(report, env);
    EXPECT_NE(again.out.find(R"("sent":0)"), std::string::npos) << "nothing left to send";

    const auto events = stripe_.meter_events();
    ASSERT_EQ(events.size(), 2u) << json::serialize(events);
    std::map<std::string, std::string> value_by_identifier;
    for (const auto& event : events) {
        value_by_identifier[std::string(event.at("identifier").as_string())] =
            json::value_to<std::string>(event.at("payload").at("value"));
        EXPECT_EQ(event.at("event_name"), "imagecdn_overage_bytes");
        EXPECT_EQ(event.at("payload").at("stripe_customer_id").as_string(), stripe_customer_id());
    }
    std::vector<std::string> values;
    for (const auto& [identifier, value] : value_by_identifier) {
        EXPECT_NE(identifier.find(account_.customer_id), std::string::npos);
        values.push_back(value);
    }
    EXPECT_EQ(values, (std::vector<std::string>{"500", "700"}));

    // Every attempt (the failed ones included) used the same two identifiers.
    std::set<std::string> sent_identifiers;
    for (const auto& request : stripe_.requests()) {
        if (request.at("path") == "/v1/billing/meter_events") {
            sent_identifiers.insert(form_value(request, "identifier"));
            EXPECT_EQ(request.at("headers").at("idempotency-key").as_string(),
                      form_value(request, "identifier"));
        }
    }
    EXPECT_EQ(sent_identifiers.size(), 2u);
    EXPECT_EQ(sql_integer(dir_.path(), "SELECT COUNT(*) FROM meter_reports WHERE reported_at "
                                       "IS NOT NULL"),
              2);
}

TEST_F(Billing, BillingSyncRepairsAPlanChangedWhileWebhooksWereLost) {
    start();
    checkout_and_pay("pro");
    // Upgraded in Stripe, but the webhook never arrives.
    stripe_.update_subscription(subscription_id(), "price_business", "active", false);
    EXPECT_EQ(plan(), "pro");
    ASSERT_EQ(image("w=5000&format=webp").status, 400) << "over pro's 4096 limit";

    const std::vector<std::string> sync{"billing", "sync", "--data-dir", dir_.path()};
    const auto repaired = run_imagecdn(sync, stripe_env());
    EXPECT_EQ(repaired.exit_code, 0) << repaired.out << repaired.err;
    EXPECT_NE(repaired.out.find(R"("repaired":1)"), std::string::npos) << repaired.out;
    EXPECT_EQ(plan(), "business");
    // The CLI signals the running server, which reloads asynchronously.
    EXPECT_TRUE(poll_until([&] { return image("w=5000&format=webp").status == 200; }))
        << "the running server reloaded";

    const auto unchanged = run_imagecdn(sync, stripe_env());
    EXPECT_NE(unchanged.out.find(R"("repaired":0)"), std::string::npos) << unchanged.out;

    stripe_.update_subscription(subscription_id(), "", "canceled", false);
    EXPECT_EQ(run_imagecdn(sync, stripe_env()).exit_code, 0);
    EXPECT_EQ(plan(), "free");
}

} // namespace
} // namespace cdn::test
