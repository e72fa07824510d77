#include "billing/billing_state.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace cdn::billing {
namespace {

constexpr std::string_view FREE_PLAN = "free";

bool is_live(std::string_view status) {
    constexpr std::array live{"active", "trialing", "past_due", "unpaid"};
    return std::find(live.begin(), live.end(), status) != live.end();
}

bool is_ended(std::string_view status) {
    return status == "canceled" || status == "incomplete_expired";
}

/** The plan sold at this Stripe price id, if any. */
const account::Plan* plan_for_price(const account::PlanTable& plans, std::string_view price_id) {
    if (price_id.empty()) {
        return nullptr;
    }
    for (const auto& [name, plan] : plans) {
        if (plan.stripe_price_id == price_id) {
            return &plan;
        }
    }
    return nullptr;
}

/** The plan a live subscription pays for: by price id, else by the metadata we set. */
const account::Plan* plan_of(const SubscriptionState& state, const account::PlanTable& plans) {
    if (const auto* plan = plan_for_price(plans, state.price_id)) {
        return plan;
    }
    if (const auto it = plans.find(state.metadata_plan); it != plans.end()) {
        return &it->second;
    }
    return nullptr;
}

void mark_past_due(db::CustomerRecord& customer, std::int64_t since) {
    if (customer.billing_status != "past_due" || !customer.past_due_since) {
        customer.past_due_since = since;
    }
    customer.billing_status = "past_due";
}

void mark_active(db::CustomerRecord& customer) {
    customer.billing_status = "active";
    customer.past_due_since.reset();
}

/** Sets plan and status from one subscription; false when it names no plan of ours. */
bool take_subscription(db::CustomerRecord& customer, const SubscriptionState& state,
                       const account::PlanTable& plans) {
    if (state.deleted || is_ended(state.status)) {
        customer.plan = FREE_PLAN;
        mark_active(customer);
        return true;
    }
    const auto* plan = plan_of(state, plans);
    if (!plan) {
        return false;
    }
    customer.plan = plan->name;
    if (state.status == "past_due" || state.status == "unpaid") {
        mark_past_due(customer, state.created);
    } else if (state.created >= customer.invoice_event_at) {
        mark_active(customer);
    }
    return true;
}

} // namespace

const account::Plan& effective_plan(const account::PlanTable& plans,
                                    const db::CustomerRecord& customer, std::int64_t now,
                                    const GracePolicy& grace) {
    const bool grace_over = customer.billing_status == "past_due" && customer.past_due_since &&
                            now >= *customer.past_due_since + grace.grace_seconds;
    return account::plan_named(plans, grace_over ? FREE_PLAN : std::string_view(customer.plan));
}

BillingChange apply_subscription(db::CustomerRecord& customer, const SubscriptionState& state,
                                 const account::PlanTable& plans) {
    const bool same = customer.stripe_subscription_id == state.id;
    if (!same && customer.stripe_subscription_id && (state.deleted || is_ended(state.status))) {
        return BillingChange::Ignored; // an older subscription ending: not the one we bill
    }
    if (!is_live(state.status) && !state.deleted && !is_ended(state.status)) {
        return BillingChange::Ignored; // incomplete: checkout not finished
    }
    if (state.created < customer.subscription_event_at) {
        return BillingChange::Stale;
    }
    if (!take_subscription(customer, state, plans)) {
        return BillingChange::Ignored;
    }
    customer.stripe_subscription_id = state.id;
    customer.subscription_event_at = state.created;
    return BillingChange::Applied;
}

BillingChange apply_invoice(db::CustomerRecord& customer, bool paid, std::int64_t created) {
    if (created < customer.invoice_event_at) {
        return BillingChange::Stale;
    }
    if (paid) {
        mark_active(customer);
    } else {
        mark_past_due(customer, created);
    }
    customer.invoice_event_at = created;
    return BillingChange::Applied;
}

BillingChange sync_subscriptions(db::CustomerRecord& customer,
                                 const std::vector<SubscriptionState>& subscriptions,
                                 const account::PlanTable& plans, std::int64_t now) {
    const SubscriptionState* newest = nullptr;
    for (const auto& state : subscriptions) {
        if (is_live(state.status) && plan_of(state, plans) &&
            (!newest || state.created > newest->created)) {
            newest = &state;
        }
    }
    const auto before = customer;
    if (newest) {
        take_subscription(customer, *newest, plans);
        if (newest->status == "active" || newest->status == "trialing") {
            mark_active(customer); // Stripe's present state wins over any invoice event
        }
        customer.stripe_subscription_id = newest->id;
    } else {
        customer.plan = FREE_PLAN;
        mark_active(customer);
    }
    customer.subscription_event_at = std::max(customer.subscription_event_at, now);
    const bool changed = before.plan != customer.plan ||
                         before.billing_status != customer.billing_status ||
                         before.stripe_subscription_id != customer.stripe_subscription_id;
    return changed ? BillingChange::Applied : BillingChange::Ignored;
}

} // namespace cdn::billing
