#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "account/plan.h"
#include "db/customer_repository.h"

namespace cdn::billing {

/** What decides a customer's limits when a payment fails ([billing] grace_days). */
struct GracePolicy {
    std::int64_t grace_seconds = 7 * 86'400;
};

/**
 * The plan whose features and limits apply to `customer` at `now`: its own plan, except that a
 * customer past due for longer than the grace period gets free limits until an invoice is paid
 * (api.md Billing). The edge and the API both ask this, so both enforce the same limits.
 */
const account::Plan& effective_plan(const account::PlanTable& plans,
                                    const db::CustomerRecord& customer, std::int64_t now,
                                    const GracePolicy& grace);

/** One subscription's state as a Stripe event or list carries it. */
struct SubscriptionState {
    std::string id;
    /** Stripe's status: active, trialing, past_due, unpaid, canceled, incomplete, ... */
    std::string status;
    std::string price_id;
    /** The plan named in the subscription's or checkout's metadata (we set it at checkout);
     *  used when the price id is not one of ours. */
    std::string metadata_plan;
    /** The event's (or subscription's) `created`, unix seconds. */
    std::int64_t created = 0;
    /** A `customer.subscription.deleted` event. */
    bool deleted = false;
};

/** Whether applying an event changed the customer. */
enum class BillingChange { Applied, Stale, Ignored };

/**
 * Applies a subscription event to `customer` (its plan, status, subscription id), unless it is
 * older by `created` than the last subscription event applied to the same subscription (events
 * arrive out of order) or is about another subscription than the current one being deleted.
 */
BillingChange apply_subscription(db::CustomerRecord& customer, const SubscriptionState& state,
                                 const account::PlanTable& plans);

/** Applies `invoice.paid` (clears past due) or `invoice.payment_failed` (past due since
 *  `created`, kept if already past due), unless older than the last invoice event applied. */
BillingChange apply_invoice(db::CustomerRecord& customer, bool paid, std::int64_t created);

/**
 * Repairs `customer` from the subscriptions Stripe lists for it now (`imagecdn billing sync`):
 * the newest live one decides the plan, none → free. Marks the state as of `now` so a
 * webhook older than the sync cannot roll it back.
 */
BillingChange sync_subscriptions(db::CustomerRecord& customer,
                                 const std::vector<SubscriptionState>& subscriptions,
                                 const account::PlanTable& plans, std::int64_t now);

} // namespace cdn::billing
