#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.h"

namespace cdn::billing {

/** Where Stripe is and how long to wait for it ([stripe] in the config). */
struct StripeEndpoint {
    /** "https://api.stripe.com" in production; a loopback fake in tests. No trailing slash. */
    std::string api_base = "https://api.stripe.com";
    std::string secret_key;
    /** Whole-call limit (connect + send + answer): Stripe being slow never hangs a request. */
    std::chrono::milliseconds timeout{10'000};
};

/** Form fields in Stripe's wire format: bracketed keys in order, e.g.
 *  {"metadata[customer_id]", "42"}, {"line_items[0][price]", "price_pro"}. */
using FormFields = std::vector<std::pair<std::string, std::string>>;

/** `application/x-www-form-urlencoded` of `fields` (RFC 3986 unreserved kept, the rest %XX). */
std::string form_encode(const FormFields& fields);

struct StripeInvoice {
    std::string id;
    std::int64_t amount_due = 0;
    std::string currency;
    std::string status;
    std::int64_t created = 0;
    std::string hosted_invoice_url;
};

struct StripeSubscription {
    std::string id;
    /** Stripe's status: active, trialing, past_due, unpaid, canceled, incomplete, ... */
    std::string status;
    /** The price of the first item. */
    std::string price_id;
    std::int64_t created = 0;
};

/** What a Checkout Session for a subscription needs. */
struct CheckoutRequest {
    std::string stripe_customer_id;
    /** Our customer id, echoed back in checkout.session.completed. */
    std::string client_reference_id;
    std::string price_id;
    std::string success_url;
    std::string cancel_url;
    /** Our plan name, sent as metadata[plan] and subscription_data[metadata][plan]: the
     *  subscription webhooks carry it back. */
    std::string plan;
};

/**
 * Stripe's REST API over libcurl: form-encoded POST bodies, `Authorization: Bearer <secret>`,
 * an `Idempotency-Key` on every POST, JSON answers. Blocking: call it from the blocking pool.
 *
 * Errors: unreachable, timed out, 429 or 5xx → Errc::BillingUnavailable; a Stripe 4xx error
 * JSON (`{"error":{"type","code","message","param"}}`) → Errc::BillingUnavailable too (it is
 * our request or config at fault, not the customer's), with Stripe's message in `detail` and
 * Stripe's `error.code` (or `error.type`) in `Error::field` so callers can tell cases apart.
 */
class StripeClient {
public:
    explicit StripeClient(StripeEndpoint endpoint);

    /** False when no secret key is configured: billing calls then answer billing_unavailable. */
    bool configured() const;

    /** POST /v1/customers with email and metadata[customer_id]; the new customer's id. */
    core::Result<std::string> create_customer(std::string_view email, std::string_view customer_id,
                                              std::string_view idempotency_key);

    /** POST /v1/checkout/sessions (mode=subscription, one line item, quantity 1); its url. */
    core::Result<std::string> create_checkout_session(const CheckoutRequest& request,
                                                      std::string_view idempotency_key);

    /** POST /v1/billing_portal/sessions; its url. */
    core::Result<std::string> create_portal_session(std::string_view stripe_customer_id,
                                                    std::string_view return_url,
                                                    std::string_view idempotency_key);

    /** GET /v1/invoices?customer=..&limit=..; newest first as Stripe lists them. */
    core::Result<std::vector<StripeInvoice>> list_invoices(std::string_view stripe_customer_id,
                                                           int limit);

    /** GET /v1/subscriptions?customer=..&status=all; newest first. */
    core::Result<std::vector<StripeSubscription>>
    list_subscriptions(std::string_view stripe_customer_id);

    /** POST /v1/billing/meter_events (event_name, payload[stripe_customer_id], payload[value],
     *  identifier, timestamp). The identifier doubles as the Idempotency-Key. */
    core::Result<void> send_meter_event(std::string_view event_name,
                                        std::string_view stripe_customer_id, std::uint64_t value,
                                        std::string_view identifier, std::int64_t timestamp);

    /** The generic calls the above are made of. `path` starts with "/v1/". */
    core::Result<boost::json::value> post(std::string_view path, const FormFields& fields,
                                          std::string_view idempotency_key);
    core::Result<boost::json::value> get(std::string_view path, const FormFields& query = {});

private:
    StripeEndpoint endpoint_;
};

} // namespace cdn::billing
