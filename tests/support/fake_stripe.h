#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "temp_dir.h"

namespace cdn::test {

/**
 * The fake Stripe of tests/fake_stripe (`node server.mjs`) on a loopback port: Stripe's API in
 * its wire format, the hosted Checkout and portal pages, and webhooks signed with the official
 * `stripe` package. Stopped by its pid (SIGTERM, then SIGKILL) when destroyed.
 *
 * The control calls fail the current test (ADD_FAILURE) when the fake does not answer 200.
 */
class FakeStripe {
public:
    /** The API key the fake expects as `Authorization: Bearer`. */
    static constexpr const char* SECRET_KEY = "sk_test_fake";

    FakeStripe() = default;
    ~FakeStripe();
    FakeStripe(const FakeStripe&) = delete;
    FakeStripe& operator=(const FakeStripe&) = delete;

    /** Starts it and waits for its `listening <port>` line; false on failure. `webhook_url` is
     *  where it delivers events, signed with `webhook_secret` (whsec_...). */
    bool start(std::string webhook_url = {}, std::string webhook_secret = {});
    /** SIGTERM and wait (SIGKILL after 2 s). */
    void stop();

    int port() const { return port_; }
    /** "http://127.0.0.1:<port>": the StripeEndpoint::api_base for the client under test. */
    std::string base_url() const;
    /** What the fake wrote to stderr (its crashes, failed deliveries). */
    std::string stderr_text() const;

    /** Every recorded API request: {method, path, query, headers: {authorization,
     *  idempotency-key, content-type, stripe-version, user-agent} (null when absent),
     *  raw_body, form (nested), flat_form: [[key, value], ...] in order}. */
    boost::json::array requests();
    void clear_requests();
    /** Forgets everything: objects, requests, idempotency keys, meter events; mode back to ok. */
    void reset();
    /** "ok", "error500" (Stripe api_error 500), "error429" (rate_limit) or "hang" (never
     *  answers), for the next `count` API requests (all when negative). */
    void set_mode(std::string mode, int count = -1);

    /** A `Stripe-Signature` header made by the stripe package's generateTestHeaderString. */
    std::string sign(std::string_view payload, std::string_view secret, std::int64_t timestamp);
    /** Builds an event of `type` around `object`, signs and POSTs it to the webhook url;
     *  {status: <webhook's HTTP status>, body, event}. */
    boost::json::object deliver(std::string_view type, boost::json::object object,
                                std::optional<std::int64_t> created = {},
                                std::optional<std::string> id = {},
                                std::optional<std::int64_t> timestamp = {});

    /** A subscription made without Checkout; {subscription, delivery (null unless deliver)}. */
    boost::json::object create_subscription(std::string_view customer, std::string_view price,
                                            std::string_view status = "active",
                                            boost::json::object metadata = {},
                                            bool deliver = false);
    /** Changes a subscription's price and/or status (empty: unchanged) and, when `deliver`,
     *  sends customer.subscription.updated (.deleted when canceled); {subscription, delivery}. */
    boost::json::object update_subscription(std::string_view id, std::string_view price,
                                            std::string_view status, bool deliver = true);
    /** A Stripe customer made through the API as another client would; its id. */
    std::string create_customer(std::string_view email);
    /** An invoice object. */
    boost::json::object create_invoice(std::string_view customer, std::int64_t amount_due,
                                       std::string_view currency = "usd",
                                       std::string_view status = "paid");
    /** Makes the fake know a price's amount (shown on Checkout, billed on invoices). */
    void set_price(std::string_view id, std::int64_t unit_amount,
                   std::string_view currency = "usd");

    /** The meter events accepted (one per identifier). */
    boost::json::array meter_events();
    /** {customers, checkout_sessions, portal_sessions, subscriptions, invoices, meter_events,
     *  deliveries, mode}. */
    boost::json::object state();

private:
    /** One control or API call; its JSON answer, or null after ADD_FAILURE. */
    boost::json::value call(std::string_view method, std::string_view target,
                            const boost::json::object& body = {});

    TempDir logs_;
    int port_ = 0;
    pid_t pid_ = -1;
};

/** The value of `flat_key` (e.g. "line_items[0][price]") in a recorded request's flat_form;
 *  empty when absent. */
std::string form_value(const boost::json::value& request, std::string_view flat_key);

} // namespace cdn::test
