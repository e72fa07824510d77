#include "api/webhooks/routes.h"

#include <spdlog/spdlog.h>

#include <optional>
#include <string>

#include "api/common/announce.h"
#include "api/common/json.h"
#include "api/webhooks/stripe_event.h"
#include "db/billing_repository.h"
#include "db/customer_repository.h"
#include "security/stripe_signature.h"

namespace cdn::api {
namespace {

using core::Errc;

/** Stripe's events stay far below this; a bigger body is not from Stripe. */
constexpr std::size_t MAX_EVENT_BYTES = 1024 * 1024;

/** The customer an event is about: by our id where Stripe echoes it, else by Stripe's id. */
core::Result<std::optional<db::CustomerRecord>> customer_of(db::Database& tx,
                                                            const StripeEvent& event,
                                                            std::int64_t now) {
    db::CustomerRepository customers(tx);
    auto our_id = event.type == "checkout.session.completed"
                      ? text_of(event.object, "client_reference_id")
                      : std::string();
    if (our_id.empty() && event.type.starts_with("customer.subscription.")) {
        our_id = text_of(object_of(event.object, "metadata"), "customer_id");
    }
    const auto stripe_id = text_of(event.object, "customer");
    if (!stripe_id.empty()) {
        CDN_TRY(found, customers.find_by_stripe_customer_id(stripe_id));
        if (found || our_id.empty()) {
            return found;
        }
    }
    CDN_TRY(found, customers.find_by_id(our_id));
    if (found && !found->stripe_customer_id && !stripe_id.empty()) {
        found->stripe_customer_id = stripe_id; // Checkout made the Stripe customer itself
        CDN_TRY_VOID(customers.set_stripe_customer_id(found->id, stripe_id, now));
    }
    return found;
}

billing::BillingChange decide(db::CustomerRecord& customer, const StripeEvent& event,
                              const account::PlanTable& plans) {
    if (event.type == "invoice.paid" || event.type == "invoice.payment_failed") {
        return billing::apply_invoice(customer, event.type == "invoice.paid", event.created);
    }
    billing::SubscriptionState state{.created = event.created};
    if (event.type == "checkout.session.completed") {
        const auto payment = text_of(event.object, "payment_status");
        if (text_of(event.object, "mode") != "subscription" ||
            (payment != "paid" && payment != "no_payment_required")) {
            return billing::BillingChange::Ignored; // async payment: invoice events follow
        }
        state.id = text_of(event.object, "subscription");
        state.status = "active";
    } else {
        state.id = text_of(event.object, "id");
        state.status = text_of(event.object, "status");
        state.price_id = price_of(event.object);
        state.deleted = event.type == "customer.subscription.deleted";
    }
    state.metadata_plan = text_of(object_of(event.object, "metadata"), "plan");
    return billing::apply_subscription(customer, state, plans);
}

/** Records the event id and applies it in one transaction: a replay, or a concurrent duplicate
 *  delivery (the primary key refuses it), changes nothing. The changed customer's public key. */
core::Result<std::optional<std::string>> apply_event(ApiDeps& deps, const StripeEvent& event) {
    std::optional<std::string> changed;
    const auto now = deps.clock.unix_seconds();
    CDN_TRY_VOID(deps.db.transaction([&](db::Database& tx) -> core::Result<void> {
        changed.reset();
        CDN_TRY(fresh, db::BillingRepository(tx).record_webhook_event(event.id, event.type,
                                                                      event.created, now));
        if (!fresh) {
            return {};
        }
        CDN_TRY(customer, customer_of(tx, event, now));
        if (!customer) {
            spdlog::warn("stripe event {} ({}) names no customer of ours", event.id, event.type);
            return {};
        }
        const auto change = decide(*customer, event, deps.plans);
        if (change == billing::BillingChange::Applied) {
            CDN_TRY_VOID(db::CustomerRepository(tx).update_billing(*customer, now));
            changed = customer->public_key;
        }
        return {};
    }));
    return changed;
}

core::Result<http::Response> receive(ApiDeps& deps, ApiRequest& req) {
    if (deps.config.stripe_webhook_secret.empty()) {
        // 5xx, not 400: Stripe keeps retrying until the operator sets the secret.
        return core::make_error(Errc::Unavailable, "Stripe webhooks are not configured here");
    }
    if (req.http.body.size() > MAX_EVENT_BYTES) {
        return core::make_error(Errc::PayloadTooLarge, "the event is too large");
    }
    CDN_TRY_VOID(security::verify_stripe_signature(req.http.header("Stripe-Signature").value_or(""),
                                                   req.http.body,
                                                   deps.config.stripe_webhook_secret,
                                                   deps.clock.unix_seconds()));
    CDN_TRY(event, parse_event(req.http.body));
    if (!handled(event.type)) {
        return json_response(200, json::object{{"received", true}, {"applied", false}});
    }
    // An error is a 5xx: Stripe retries the event.
    CDN_TRY(changed, apply_event(deps, event));
    if (changed) {
        announce_config_change(deps.kv, *changed);
    }
    return json_response(200, json::object{{"received", true}, {"applied", changed.has_value()}});
}

} // namespace

void add_webhooks_routes(ApiRouter& router, ApiDeps& deps) {
    // Stripe's events (an invoice with many lines) can be larger than a customer's JSON.
    router.add({"POST", "/api/v1/webhooks/stripe", "stripeWebhook", Access::Public,
                with_deps(deps, receive), fixed_body_limit(MAX_EVENT_BYTES)});
}

} // namespace cdn::api
