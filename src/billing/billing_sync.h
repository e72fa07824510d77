#pragma once

#include <string>
#include <vector>

#include "account/plan.h"
#include "billing/stripe_client.h"
#include "core/clock.h"
#include "db/database.h"

namespace cdn::billing {

/** What `imagecdn billing sync` found. */
struct SyncRun {
    int customers = 0;
    /** Public keys of customers whose plan or billing status was repaired. */
    std::vector<std::string> repaired;
    /** Customers Stripe could not be asked about (left as they were). */
    int failed = 0;
};

/**
 * Re-reads every Stripe-linked customer's subscriptions from Stripe and repairs plan and billing
 * status from them (billing_state.h sync_subscriptions): the fix for webhooks that never
 * arrived. One customer's Stripe failure does not stop the others. Blocking.
 */
core::Result<SyncRun> sync_billing(db::Database& db, StripeClient& stripe,
                                   const account::PlanTable& plans, const core::Clock& clock);

} // namespace cdn::billing
