#include "api/webhooks/routes.h"

#include <spdlog/spdlog.h>

#include <optional>
#include <string>

#include "api/common/announce.h"
#include "api/common/json.h"
#include "db/billing_repository.h"
#include "db/customer_repository.h"
#include "security/stripe_signature.h"

namespace cdn::api {
namespace {

using core::Errc;

/** Stripe's events stay far below this; a bigger body is not from Stripe. */
constexpr std::size_t MAX_EVENT_BYTES = 1024 * 1024;

/** The parts of a Stripe event we act on. */
struct StripeEvent {
    std::string id;
    std::string type;
    std::int64_t created = 0;
    json::object object;
};

std::string text_of(const json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

std::int64_t integer_of(const json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    return value && value->is_int64() ? value->get_int64() : 0;
}

const json::object& object_of(const json::object& object, std::string_view key) {
    static const json::object empty;
    const auto* value = object.if_contains(key);
    return value && value->is_object() ? value->get_object() : empty;
}

bool handled(std::string_view type) {
    return type == "checkout.session.completed" || type == "customer.subscription.created" ||
           type == "customer.subscription.updated" || type == "customer.subscription.deleted" ||
           type == "invoice.paid" || type == "invoice.payment_failed";
}

core::Result<StripeEvent> parse_event(std::string_view body) {
    boost::system::error_code ec;
    auto parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) {
        return core::make_error(Errc::InvalidJson, "the event is not a JSON object");
    }
    const auto& root = parsed.get_object();
    StripeEvent event{
        .id = text_of(root, "id"),
        .type = text_of(root, "type"),
        .created = integer_of(root, "created"),
        .object = object_of(object_of(root, "data"), "object"),
    };
    if (event.id.empty() || event.type.empty()) {
        return core::make_error(Errc::BadRequest, "the event has no id or type");
    }
    return event;
}

/** The first subscription item's price id. */
std::string price_of(const json::object& subscription) {
    const auto* data = object_of(subscription, "items").if_contains("data");
    if (!data || !data->is_array() || data->get_array().empty() ||
        !data->get_array().front().is_object()) {
        return {};
    }
    return text_of(object_of(data->get_array().front().get_object(), "price"), "id");
}

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
