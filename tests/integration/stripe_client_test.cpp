// billing::StripeClient against the fake Stripe (tests/fake_stripe), a real process on
// loopback: the exact wire format of every call, list parsing, error mapping, timeouts,
// idempotency, meter-event dedupe, and our webhook verifier against Stripe's own signer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "billing/stripe_client.h"
#include "fake_stripe.h"
#include "raw_http.h"
#include "security/stripe_signature.h"

namespace cdn::test {
namespace {

namespace json = boost::json;
using core::Errc;

constexpr std::int64_t NOW = 1'764'000'000;

std::string text(const json::value& v, std::string_view pointer) {
    boost::system::error_code ec;
    const auto* found = v.find_pointer(pointer, ec);
    return found != nullptr && found->is_string() ? std::string(found->get_string()) : "";
}

/** A webhook endpoint on loopback that answers 200 and keeps what it was sent. */
class WebhookSink {
public:
    struct Delivery {
        std::string head;
        std::string body;
    };

    WebhookSink() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(addr);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len);
        ::listen(fd_, 16);
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~WebhookSink() {
        stopping_ = true;
        thread_.join();
        ::close(fd_);
    }
    WebhookSink(const WebhookSink&) = delete;
    WebhookSink& operator=(const WebhookSink&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
    std::vector<Delivery> deliveries() {
        std::lock_guard lock(mutex_);
        return deliveries_;
    }

private:
    void serve() {
        while (!stopping_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                const int conn = ::accept(fd_, nullptr, nullptr);
                receive(conn);
                ::close(conn);
            }
        }
    }

    /** One request: the head, then Content-Length bytes of body. */
    void receive(int conn) {
        std::string data;
        char chunk[8192];
        std::size_t head_end = std::string::npos;
        std::size_t length = 0;
        while (head_end == std::string::npos || data.size() < head_end + 4 + length) {
            const auto n = ::recv(conn, chunk, sizeof(chunk), 0);
            if (n <= 0) {
                return;
            }
            data.append(chunk, static_cast<std::size_t>(n));
            if (head_end == std::string::npos &&
                (head_end = data.find("\r\n\r\n")) != std::string::npos) {
                length = content_length(data.substr(0, head_end));
            }
        }
        constexpr std::string_view OK =
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        (void)::send(conn, OK.data(), OK.size(), MSG_NOSIGNAL);
        std::lock_guard lock(mutex_);
        deliveries_.push_back({data.substr(0, head_end), data.substr(head_end + 4, length)});
    }

    static std::size_t content_length(std::string head) {
        for (auto& c : head) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        const auto at = head.find("content-length:");
        return at == std::string::npos ? 0 : std::stoul(head.substr(at + 15));
    }

    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    std::mutex mutex_;
    std::vector<Delivery> deliveries_;
};

/** The Stripe-Signature value of a delivery's head. */
std::string signature_of(const std::string& head) {
    const auto at = head.find("Stripe-Signature: ");
    return at == std::string::npos ? "" : head.substr(at + 18, head.find("\r\n", at) - at - 18);
}

/** One fake for the suite (starting node costs ~0.4 s); reset before every test. */
class StripeClient : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        fake_ = new FakeStripe();
        ASSERT_TRUE(fake_->start()) << fake_->stderr_text();
    }
    static void TearDownTestSuite() {
        delete fake_;
        fake_ = nullptr;
    }
    void SetUp() override {
        ASSERT_GT(fake_->port(), 0) << "the fake Stripe did not start: " << fake_->stderr_text();
        fake_->reset();
    }

    static billing::StripeEndpoint endpoint(std::string secret = FakeStripe::SECRET_KEY) {
        return billing::StripeEndpoint{fake_->base_url(), std::move(secret),
                                       std::chrono::milliseconds(5'000)};
    }
    static billing::StripeClient client() { return billing::StripeClient(endpoint()); }

    /** The one request the fake recorded. */
    static json::value only_request() {
        auto requests = fake_->requests();
        EXPECT_EQ(requests.size(), 1U) << json::serialize(requests);
        return requests.empty() ? json::value() : requests.back();
    }

    static std::string new_customer(std::string_view key = "idem-customer") {
        auto id = client().create_customer("owner@example.com", "42", key);
        EXPECT_TRUE(id) << id.error().detail;
        return id ? *id : "";
    }

    static FakeStripe* fake_;
};

FakeStripe* StripeClient::fake_ = nullptr;

void expect_api_headers(const json::value& request, std::string_view idempotency_key) {
    EXPECT_EQ(text(request, "/headers/authorization"), "Bearer sk_test_fake");
    EXPECT_EQ(text(request, "/headers/stripe-version"), "2024-06-20");
    EXPECT_EQ(text(request, "/headers/user-agent"), "imagecdn");
    EXPECT_EQ(text(request, "/headers/idempotency-key"), idempotency_key);
    const bool post = text(request, "/method") == "POST";
    EXPECT_EQ(text(request, "/headers/content-type"),
              post ? "application/x-www-form-urlencoded" : "");
}

void expect_unavailable(const core::Result<std::string>& result, std::string_view field) {
    ASSERT_FALSE(result) << *result;
    EXPECT_EQ(result.error().code, Errc::BillingUnavailable);
    EXPECT_EQ(result.error().field, field) << result.error().detail;
    EXPECT_FALSE(result.error().message.empty());
}

TEST_F(StripeClient, CreateCustomerSendsEmailAndOurIdWithStripesHeaders) {
    const auto id = client().create_customer("a+b@example.com", "42", "idem-cust-1");
    ASSERT_TRUE(id) << id.error().detail;
    EXPECT_EQ(id->rfind("cus_", 0), 0U) << *id;
    const auto request = only_request();
    EXPECT_EQ(text(request, "/path"), "/v1/customers");
    expect_api_headers(request, "idem-cust-1");
    // Bracketed keys travel percent-encoded, values too ('+' is not a space).
    EXPECT_EQ(text(request, "/raw_body"), "email=a%2Bb%40example.com&metadata%5Bcustomer_id%5D=42");
    EXPECT_EQ(request.at("flat_form"),
              json::parse(R"([["email","a+b@example.com"],["metadata[customer_id]","42"]])"));
    EXPECT_EQ(text(fake_->state(), "/customers/0/metadata/customer_id"), "42");
    const auto fetched = client().get("/v1/customers/" + *id);
    ASSERT_TRUE(fetched) << fetched.error().detail;
    EXPECT_EQ(text(*fetched, "/email"), "a+b@example.com");
    EXPECT_EQ(client().get("/v1/customers/cus_missing").error().field, "resource_missing");
}

TEST_F(StripeClient, CheckoutSessionIsASubscriptionCarryingThePlanAndOurCustomer) {
    const auto customer = new_customer();
    fake_->clear_requests();
    const billing::CheckoutRequest req{customer,
                                       "42",
                                       "price_pro",
                                       "https://cdn.test/billing?done={CHECKOUT_SESSION_ID}",
                                       "https://cdn.test/billing?canceled=1",
                                       "pro"};
    const auto url = client().create_checkout_session(req, "idem-checkout-1");
    ASSERT_TRUE(url) << url.error().detail;
    EXPECT_EQ(url->rfind(fake_->base_url() + "/checkout/cs_test_", 0), 0U) << *url;
    const auto request = only_request();
    EXPECT_EQ(text(request, "/path"), "/v1/checkout/sessions");
    expect_api_headers(request, "idem-checkout-1");
    const std::vector<std::pair<std::string, std::string>> expected{
        {"mode", "subscription"},
        {"customer", customer},
        {"client_reference_id", "42"},
        {"line_items[0][price]", "price_pro"},
        {"line_items[0][quantity]", "1"},
        {"success_url", req.success_url},
        {"cancel_url", req.cancel_url},
        {"metadata[customer_id]", "42"},
        {"metadata[plan]", "pro"},
        {"subscription_data[metadata][customer_id]", "42"},
        {"subscription_data[metadata][plan]", "pro"}};
    for (const auto& [key, value] : expected) {
        EXPECT_EQ(form_value(request, key), value) << key;
    }
    // Parsed by the fake as Stripe does: nested objects and arrays.
    EXPECT_EQ(text(request, "/form/line_items/0/price"), "price_pro");
    EXPECT_EQ(text(request, "/form/subscription_data/metadata/plan"), "pro");
    const auto session = client().get("/v1/checkout/sessions/" + url->substr(url->rfind('/') + 1));
    ASSERT_TRUE(session) << session.error().detail;
    EXPECT_EQ(text(*session, "/client_reference_id"), "42");
    EXPECT_EQ(text(*session, "/url"), *url);
}

TEST_F(StripeClient, PortalSessionSendsCustomerAndReturnUrl) {
    const auto customer = new_customer();
    fake_->clear_requests();
    const auto url = client().create_portal_session(customer, "https://cdn.test/billing", "idem-p");
    ASSERT_TRUE(url) << url.error().detail;
    EXPECT_EQ(url->rfind(fake_->base_url() + "/portal/bps_", 0), 0U) << *url;
    const auto request = only_request();
    EXPECT_EQ(text(request, "/path"), "/v1/billing_portal/sessions");
    expect_api_headers(request, "idem-p");
    EXPECT_EQ(request.at("flat_form"),
              json::parse(R"([["customer",")" + customer +
                          R"("],["return_url","https://cdn.test/billing"]])"));
}

TEST_F(StripeClient, ListsInvoicesNewestFirstWithTheirFields) {
    const auto older = fake_->create_invoice("cus_list", 2500, "usd", "paid");
    const auto newer = fake_->create_invoice("cus_list", 900, "eur", "open");
    fake_->create_invoice("cus_other", 1, "usd", "paid");
    const auto invoices = client().list_invoices("cus_list", 10);
    ASSERT_TRUE(invoices) << invoices.error().detail;
    ASSERT_EQ(invoices->size(), 2U);
    const auto& first = invoices->front();
    EXPECT_EQ(first.id, text(newer, "/id"));
    EXPECT_EQ(first.amount_due, 900);
    EXPECT_EQ(first.currency, "eur");
    EXPECT_EQ(first.status, "open");
    EXPECT_GT(first.created, NOW);
    EXPECT_EQ(first.hosted_invoice_url, text(newer, "/hosted_invoice_url"));
    EXPECT_EQ(invoices->back().id, text(older, "/id"));
    const auto request = fake_->requests().back();
    EXPECT_EQ(text(request, "/method"), "GET");
    EXPECT_EQ(text(request, "/query/customer"), "cus_list");
    EXPECT_EQ(text(request, "/query/limit"), "10");
    expect_api_headers(request, "");
    const auto one = client().list_invoices("cus_list", 1);
    ASSERT_TRUE(one);
    ASSERT_EQ(one->size(), 1U);
    EXPECT_EQ(one->front().id, text(newer, "/id"));
}

TEST_F(StripeClient, ListsSubscriptionsOfAnyStatusWithTheFirstItemsPrice) {
    const auto active = fake_->create_subscription("cus_subs", "price_pro");
    const auto old = fake_->create_subscription("cus_subs", "price_business");
    fake_->update_subscription(text(old, "/subscription/id"), "", "canceled", false);
    const auto subscriptions = client().list_subscriptions("cus_subs");
    ASSERT_TRUE(subscriptions) << subscriptions.error().detail;
    ASSERT_EQ(subscriptions->size(), 2U);
    EXPECT_EQ(subscriptions->front().id, text(old, "/subscription/id"));
    EXPECT_EQ(subscriptions->front().status, "canceled");
    EXPECT_EQ(subscriptions->front().price_id, "price_business");
    EXPECT_EQ(subscriptions->back().id, text(active, "/subscription/id"));
    EXPECT_EQ(subscriptions->back().status, "active");
    EXPECT_EQ(subscriptions->back().price_id, "price_pro");
    EXPECT_GT(subscriptions->back().created, NOW);
    const auto request = fake_->requests().back();
    EXPECT_EQ(text(request, "/query/customer"), "cus_subs");
    EXPECT_EQ(text(request, "/query/status"), "all");
    EXPECT_EQ(text(request, "/query/limit"), "100");
}

TEST_F(StripeClient, StripeErrorsAreUnavailableWithStripesCodeAsTheField) {
    const auto portal = client().create_portal_session("cus_missing", "https://cdn.test/", "k1");
    expect_unavailable(portal, "resource_missing");
    EXPECT_NE(portal.error().detail.find("No such customer: 'cus_missing'"), std::string::npos)
        << portal.error().detail;
    const auto missing = client().post("/v1/checkout/sessions", {{"mode", "subscription"}}, "k2");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().field, "parameter_missing");
    EXPECT_NE(missing.error().detail.find("success_url"), std::string::npos);
    const auto wrong_key =
        billing::StripeClient(endpoint("sk_test_wrong")).create_customer("a@b.c", "1", "k3");
    expect_unavailable(wrong_key, "api_key_invalid");
}

TEST_F(StripeClient, AnErrorWithoutACodeGivesItsTypeAsTheField) {
    ASSERT_TRUE(client().create_customer("a@b.c", "1", "same-key"));
    expect_unavailable(client().create_customer("other@b.c", "1", "same-key"), "idempotency_error");
}

TEST_F(StripeClient, ServerErrorsAndRateLimitsAreUnavailable) {
    fake_->set_mode("error500", 1);
    expect_unavailable(client().create_customer("a@b.c", "1", "k-500"), "");
    fake_->set_mode("error429", 1);
    const auto limited = client().list_invoices("cus_x", 10);
    ASSERT_FALSE(limited);
    EXPECT_EQ(limited.error().code, Errc::BillingUnavailable);
    EXPECT_EQ(limited.error().field, "");
    // The failed attempt stored nothing under its key: a retry with it goes through.
    EXPECT_TRUE(client().create_customer("a@b.c", "1", "k-500"));
}

TEST_F(StripeClient, AHangingStripeTimesOutWithinTheConfiguredTimeout) {
    fake_->set_mode("hang");
    auto slow = endpoint();
    slow.timeout = std::chrono::milliseconds(300);
    const auto started = std::chrono::steady_clock::now();
    const auto result = billing::StripeClient(slow).create_customer("a@b.c", "1", "k-hang");
    const auto elapsed = std::chrono::steady_clock::now() - started;
    expect_unavailable(result, "");
    // Cut by the 300 ms timeout: not before it, and not left hanging (the fake never answers).
    EXPECT_LT(elapsed, std::chrono::seconds(5));
    EXPECT_GE(elapsed, std::chrono::milliseconds(250));
}

TEST_F(StripeClient, UnreachableOrNonJsonAnswersAreUnavailable) {
    auto closed = endpoint();
    closed.api_base = "http://127.0.0.1:" + std::to_string(free_port());
    expect_unavailable(billing::StripeClient(closed).create_customer("a@b.c", "1", "k"), "");
    auto ftp = endpoint();
    ftp.api_base = "ftp://127.0.0.1:" + std::to_string(fake_->port());
    expect_unavailable(billing::StripeClient(ftp).create_customer("a@b.c", "1", "k"), "");
    // The hosted Checkout page answers HTML: not something the client can use.
    const auto html = client().get("/checkout/cs_test_missing");
    ASSERT_FALSE(html);
    EXPECT_EQ(html.error().code, Errc::BillingUnavailable);
}

TEST_F(StripeClient, WithoutASecretKeyNothingIsSent) {
    billing::StripeClient unconfigured(endpoint(""));
    EXPECT_FALSE(unconfigured.configured());
    EXPECT_TRUE(client().configured());
    expect_unavailable(unconfigured.create_customer("a@b.c", "1", "k"), "");
    EXPECT_FALSE(unconfigured.list_invoices("cus_x", 10));
    EXPECT_FALSE(unconfigured.send_meter_event("e", "cus_x", 1, "id", NOW));
    EXPECT_TRUE(fake_->requests().empty());
}

TEST_F(StripeClient, AReplayedIdempotencyKeyCreatesOneCustomer) {
    const auto first = new_customer("idem-replay");
    const auto second = new_customer("idem-replay");
    EXPECT_EQ(first, second);
    EXPECT_EQ(fake_->requests().size(), 2U);
    EXPECT_EQ(fake_->state().at("customers").as_array().size(), 1U);
    // Stripe marks the replay; the same body under the same key is answered again.
    const auto replay = http_request(fake_->port(), "POST", "/v1/customers",
                                     {{"Authorization", "Bearer sk_test_fake"},
                                      {"Idempotency-Key", "idem-replay"},
                                      {"Content-Type", "application/x-www-form-urlencoded"}},
                                     "email=owner%40example.com&metadata%5Bcustomer_id%5D=42");
    ASSERT_TRUE(replay);
    EXPECT_EQ(replay->header("idempotent-replayed").value_or(""), "true");
}

TEST_F(StripeClient, MeterEventsAreSentAsStripeWantsAndCountedOncePerIdentifier) {
    auto stripe = client();
    ASSERT_TRUE(stripe.send_meter_event("imagecdn_overage_gb", "cus_m", 7, "42-20251124", NOW));
    const auto request = only_request();
    EXPECT_EQ(text(request, "/path"), "/v1/billing/meter_events");
    expect_api_headers(request, "42-20251124");
    EXPECT_EQ(request.at("flat_form"), json::parse(R"([["event_name","imagecdn_overage_gb"],
        ["payload[stripe_customer_id]","cus_m"],["payload[value]","7"],
        ["identifier","42-20251124"],["timestamp","1764000000"]])"));
    // The same event again (a retry), then the same identifier under another key: one counted.
    ASSERT_TRUE(stripe.send_meter_event("imagecdn_overage_gb", "cus_m", 7, "42-20251124", NOW));
    ASSERT_TRUE(stripe.post("/v1/billing/meter_events",
                            {{"event_name", "imagecdn_overage_gb"},
                             {"payload[stripe_customer_id]", "cus_m"},
                             {"payload[value]", "9"},
                             {"identifier", "42-20251124"}},
                            "another-key"));
    ASSERT_TRUE(stripe.send_meter_event("imagecdn_overage_gb", "cus_m", 3, "42-20251125", NOW));
    const auto events = fake_->meter_events();
    ASSERT_EQ(events.size(), 2U) << json::serialize(events);
    EXPECT_EQ(text(events[0], "/payload/value"), "7");
    EXPECT_EQ(text(events[1], "/identifier"), "42-20251125");
}

// The header is made by Stripe's own library (stripe.webhooks.generateTestHeaderString).
TEST_F(StripeClient, StripesOwnSignatureVerifiesWithOurVerifier) {
    const std::string payload = R"({
  "id": "evt_1",
  "object": "event",
  "type": "invoice.paid"
})";
    const std::string secret = "whsec_test_0123456789";
    const auto header = fake_->sign(payload, secret, NOW);
    ASSERT_EQ(header.rfind("t=1764000000,v1=", 0), 0U) << header;
    const auto verified = security::verify_stripe_signature(header, payload, secret, NOW + 10);
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_EQ(*verified, NOW);
    auto tampered = payload;
    tampered.replace(tampered.find("evt_1"), 5, "evt_2");
    const auto refused = security::verify_stripe_signature(header, tampered, secret, NOW + 10);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::InvalidWebhookSignature);
    EXPECT_FALSE(security::verify_stripe_signature(header, payload, "whsec_other", NOW + 10));
}

// Paying on the hosted Checkout page: Stripe's three webhooks in Stripe's order, signed so that
// our verifier accepts them, carrying what the webhook handler reads.
TEST_F(StripeClient, PayingOnTheCheckoutPageDeliversSignedWebhooksInStripesOrder) {
    WebhookSink sink;
    FakeStripe stripe;
    const std::string secret = "whsec_checkout_flow";
    ASSERT_TRUE(stripe.start(sink.url(), secret)) << stripe.stderr_text();
    billing::StripeClient stripe_client({stripe.base_url(), FakeStripe::SECRET_KEY});
    const auto customer = stripe_client.create_customer("owner@example.com", "42", "k-cus");
    ASSERT_TRUE(customer);
    const auto url = stripe_client.create_checkout_session(
        {*customer, "42", "price_pro", "https://cdn.test/ok?s={CHECKOUT_SESSION_ID}",
         "https://cdn.test/cancel", "pro"},
        "k-cs");
    ASSERT_TRUE(url);
    const auto session_path = url->substr(stripe.base_url().size());
    const auto page = http_request(stripe.port(), "GET", session_path);
    ASSERT_TRUE(page);
    EXPECT_NE(page->body.find(">Pay</button>"), std::string::npos) << page->body;
    EXPECT_NE(page->body.find(R"(href="https://cdn.test/cancel">Cancel</a>)"), std::string::npos);
    const auto paid = http_request(stripe.port(), "POST", session_path + "/pay");
    ASSERT_TRUE(paid);
    EXPECT_EQ(paid->status, 303);
    EXPECT_EQ(paid->header("location").value_or(""),
              "https://cdn.test/ok?s=" + session_path.substr(session_path.rfind('/') + 1));
    const auto deliveries = sink.deliveries();
    ASSERT_EQ(deliveries.size(), 3U) << stripe.stderr_text();
    std::vector<json::value> events;
    for (const auto& d : deliveries) {
        EXPECT_NE(d.head.find("Content-Type: application/json; charset=utf-8"), std::string::npos);
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        EXPECT_TRUE(security::verify_stripe_signature(signature_of(d.head), d.body, secret, now))
            << d.head;
        events.push_back(json::parse(d.body));
    }
    EXPECT_EQ(text(events[0], "/type"), "customer.subscription.created");
    EXPECT_EQ(text(events[0], "/data/object/metadata/plan"), "pro");
    EXPECT_EQ(text(events[0], "/data/object/metadata/customer_id"), "42");
    EXPECT_EQ(text(events[0], "/data/object/items/data/0/price/id"), "price_pro");
    EXPECT_EQ(text(events[1], "/type"), "checkout.session.completed");
    EXPECT_EQ(text(events[1], "/data/object/client_reference_id"), "42");
    EXPECT_EQ(text(events[1], "/data/object/customer"), *customer);
    EXPECT_EQ(text(events[1], "/data/object/subscription"), text(events[0], "/data/object/id"));
    EXPECT_EQ(text(events[1], "/data/object/payment_status"), "paid");
    EXPECT_EQ(text(events[2], "/type"), "invoice.paid");
    EXPECT_EQ(text(events[2], "/api_version"), "2024-06-20");
    const auto subscriptions = stripe_client.list_subscriptions(*customer);
    ASSERT_TRUE(subscriptions);
    ASSERT_EQ(subscriptions->size(), 1U);
    EXPECT_EQ(subscriptions->front().status, "active");
}

} // namespace
} // namespace cdn::test
