#include "api/billing/routes.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "api/common/customer_json.h"
#include "api/common/json.h"
#include "core/random.h"
#include "core/strings.h"

namespace cdn::api {
namespace {

using core::Errc;

/** How many invoices GET /billing/invoices shows: two years of monthly bills. */
constexpr int INVOICES_SHOWN = 24;

/** One plan with its features and limits under the config's key names (plans.md). */
json::object plan_json(const account::Plan& plan) {
    json::object out{
        {"name", plan.name},
        {"avif", plan.avif},
        {"signed_urls", plan.signed_urls},
        {"custom_domains", plan.custom_domains},
        {"max_dimension", plan.max_dimension},
        {"rate_limit_rps", plan.rate_limit_rps},
        {"bandwidth_quota_bytes", plan.bandwidth_quota_bytes},
        {"over_quota", plan.over_quota},
        {"storage_quota_bytes", plan.storage_quota_bytes},
        {"max_original_bytes", plan.max_original_bytes},
    };
    // Whole prices as integers: Boost.JSON writes 25.0 as 2.5E1.
    const bool whole = plan.price_usd == std::floor(plan.price_usd) && plan.price_usd < 1e15;
    out["price_usd"] = whole ? json::value(static_cast<std::int64_t>(plan.price_usd))
                             : json::value(plan.price_usd);
    out["stripe_price_id"] = plan.stripe_price_id.empty() ? json::value(nullptr)
                                                          : json::value(plan.stripe_price_id);
    return out;
}

http::Response list_plans(const ApiDeps& deps) {
    // Cheapest first, as a pricing page lists them.
    std::vector<const account::Plan*> plans;
    for (const auto& entry : deps.plans) {
        plans.push_back(&entry.second);
    }
    std::stable_sort(plans.begin(), plans.end(),
                     [](const auto* a, const auto* b) { return a->price_usd < b->price_usd; });
    json::array items;
    for (const auto* plan : plans) {
        items.push_back(plan_json(*plan));
    }
    return json_response(200, json::object{{"billing_enabled", deps.stripe.configured()},
                                           {"items", std::move(items)}});
}

/** Checkout and portal without a Stripe secret key: 501, since retrying cannot help (unlike
 *  502 billing_unavailable, an outage). */
core::Result<void> require_billing(const ApiDeps& deps) {
    if (deps.stripe.configured()) {
        return {};
    }
    return core::make_error(Errc::BillingNotConfigured,
                            "billing is not set up on this server (no Stripe secret key)");
}

/** The customer's Stripe customer id, created on first use. The idempotency key is fixed per
 *  customer, so two first checkouts at once get the same Stripe customer. */
core::Result<std::string> ensure_stripe_customer(ApiDeps& deps,
                                                 const db::CustomerRecord& customer) {
    if (customer.stripe_customer_id) {
        return *customer.stripe_customer_id;
    }
    CDN_TRY(created, deps.stripe.create_customer(customer.email, customer.id,
                                                 "imagecdn-customer-" + customer.id));
    CDN_TRY_VOID(db::CustomerRepository(deps.db).set_stripe_customer_id(
        customer.id, created, deps.clock.unix_seconds()));
    return created;
}

/** The paid plan a checkout asks for: 422 for an unknown or free plan, 409 for the current
 *  one, or for another while a subscription is live (plan changes go through the portal). */
core::Result<const account::Plan*> checkout_plan(const ApiDeps& deps, const std::string& name,
                                                 const db::CustomerRecord& customer) {
    const auto it = deps.plans.find(name);
    if (it == deps.plans.end()) {
        return invalid_field("plan", "there is no plan called '" + name + "'");
    }
    if (it->second.stripe_price_id.empty()) {
        return invalid_field("plan", "the " + name +
                                         " plan is not sold through checkout; cancel the "
                                         "subscription in the billing portal instead");
    }
    if (customer.plan == name) {
        return core::make_error(Errc::AlreadyOnPlan, "you are already on the " + name + " plan");
    }
    if (customer.stripe_subscription_id && customer.plan != "free") {
        return core::make_error(Errc::Conflict,
                                "you already have a subscription: change plans in the billing "
                                "portal (POST /api/v1/billing/portal)");
    }
    return &it->second;
}

/** The `{plan}` body of a checkout: the plan's name. */
core::Result<std::string> read_checkout(const http::Request& request) {
    CDN_TRY(body, JsonBody::read(request, {"plan"}));
    return body.string("plan", 1, 64);
}

core::Result<http::Response> checkout(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY_VOID(require_billing(deps));
    CDN_TRY(plan_name, read_checkout(req.http));
    CDN_TRY(customer, caller_customer(deps, req));
    CDN_TRY(plan, checkout_plan(deps, plan_name, customer));
    CDN_TRY(stripe_customer, ensure_stripe_customer(deps, customer));
    const billing::CheckoutRequest request{
        .stripe_customer_id = stripe_customer,
        .client_reference_id = customer.id,
        .price_id = plan->stripe_price_id,
        .success_url = deps.config.url_for(
            "/dashboard/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}"),
        .cancel_url = deps.config.url_for("/dashboard/billing?checkout=cancelled"),
        .plan = plan->name,
    };
    CDN_TRY(url, deps.stripe.create_checkout_session(request, core::random_hex(16)));
    return json_response(200, json::object{{"url", url}});
}

core::Result<http::Response> portal(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY_VOID(require_billing(deps));
    CDN_TRY(customer, caller_customer(deps, req));
    CDN_TRY(stripe_customer, ensure_stripe_customer(deps, customer));
    CDN_TRY(url, deps.stripe.create_portal_session(
                     stripe_customer, deps.config.url_for("/dashboard/billing"),
                     core::random_hex(16)));
    return json_response(200, json::object{{"url", url}});
}

core::Result<http::Response> invoices(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(customer, caller_customer(deps, req));
    json::array items;
    if (customer.stripe_customer_id) {
        CDN_TRY(listed, deps.stripe.list_invoices(*customer.stripe_customer_id, INVOICES_SHOWN));
        for (const auto& invoice : listed) {
            items.push_back(json::object{
                {"id", invoice.id},
                {"amount", invoice.amount_due},
                {"currency", invoice.currency},
                {"status", invoice.status},
                {"created", core::rfc3339(invoice.created)},
                {"hosted_invoice_url", invoice.hosted_invoice_url.empty()
                                           ? json::value(nullptr)
                                           : json::value(invoice.hosted_invoice_url)},
            });
        }
    }
    return json_response(200,
                         json::object{{"items", std::move(items)}, {"next_cursor", nullptr}});
}

} // namespace

void add_billing_routes(ApiRouter& router, ApiDeps& deps) {
    router.add({"GET", "/api/v1/billing/plans", "listPlans", Access::Public,
                [&deps](ApiRequest&) { return list_plans(deps); }});
    router.add({"POST", "/api/v1/billing/checkout", "createCheckout", Access::Customer,
                with_deps(deps, checkout)});
    router.add({"POST", "/api/v1/billing/portal", "createPortalSession", Access::Customer,
                with_deps(deps, portal)});
    router.add({"GET", "/api/v1/billing/invoices", "listInvoices", Access::Customer,
                with_deps(deps, invoices)});
}

} // namespace cdn::api
