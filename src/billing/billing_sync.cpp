#include "billing/billing_sync.h"

#include <spdlog/spdlog.h>

#include "billing/billing_state.h"
#include "db/customer_repository.h"

namespace cdn::billing {
namespace {

std::vector<SubscriptionState> states_of(const std::vector<StripeSubscription>& listed) {
    std::vector<SubscriptionState> states;
    states.reserve(listed.size());
    for (const auto& subscription : listed) {
        states.push_back({.id = subscription.id,
                          .status = subscription.status,
                          .price_id = subscription.price_id,
                          .created = subscription.created});
    }
    return states;
}

} // namespace

core::Result<SyncRun> sync_billing(db::Database& db, StripeClient& stripe,
                                   const account::PlanTable& plans, const core::Clock& clock) {
    db::CustomerRepository customers(db);
    CDN_TRY(linked, customers.list_with_stripe_customer());
    SyncRun run;
    for (auto& customer : linked) {
        ++run.customers;
        auto listed = stripe.list_subscriptions(*customer.stripe_customer_id);
        if (!listed) {
            spdlog::warn("billing sync: {}: {} ({})", customer.public_key,
                         listed.error().message, listed.error().detail);
            ++run.failed;
            continue;
        }
        const auto now = clock.unix_seconds();
        if (sync_subscriptions(customer, states_of(*listed), plans, now) ==
            BillingChange::Applied) {
            CDN_TRY_VOID(customers.update_billing(customer, now));
            run.repaired.push_back(customer.public_key);
        }
    }
    return run;
}

} // namespace cdn::billing
