#include "billing/billing_state.h"
#include "billing/overage_reporter.h"

#include <gtest/gtest.h>

namespace cdn::billing {
namespace {

constexpr std::int64_t DAY = 86'400;
constexpr std::int64_t NOV_1_2023 = 1'698'796'800;

db::CustomerRecord pro_customer() {
    db::CustomerRecord customer;
    customer.id = "c1";
    customer.plan = "pro";
    customer.stripe_subscription_id = "sub_1";
    customer.subscription_event_at = 1000;
    return customer;
}

SubscriptionState subscription(std::string price, std::int64_t created,
                               std::string status = "active") {
    return {.id = "sub_1", .status = std::move(status), .price_id = std::move(price),
            .created = created};
}

TEST(EffectivePlan, PastDueKeepsThePlanThroughGraceThenFree) {
    const auto plans = account::default_plans();
    auto customer = pro_customer();
    const GracePolicy grace{.grace_seconds = 7 * DAY};
    EXPECT_EQ(effective_plan(plans, customer, 5000, grace).name, "pro");
    customer.billing_status = "past_due";
    customer.past_due_since = 5000;
    EXPECT_EQ(effective_plan(plans, customer, 5000 + 7 * DAY - 1, grace).name, "pro");
    EXPECT_EQ(effective_plan(plans, customer, 5000 + 7 * DAY, grace).name, "free");
    customer.plan = "retired-plan";
    customer.billing_status = "active";
    EXPECT_EQ(effective_plan(plans, customer, 0, grace).name, "free") << "unknown plan → free";
}

TEST(ApplySubscription, PlanFromThePriceAndOlderEventsAreStale) {
    const auto plans = account::default_plans();
    auto customer = pro_customer();
    EXPECT_EQ(apply_subscription(customer, subscription("price_business", 2000), plans),
              BillingChange::Applied);
    EXPECT_EQ(customer.plan, "business");
    EXPECT_EQ(apply_subscription(customer, subscription("price_pro", 1500), plans),
              BillingChange::Stale);
    EXPECT_EQ(customer.plan, "business");
    EXPECT_EQ(apply_subscription(customer, subscription("price_unknown", 3000), plans),
              BillingChange::Ignored);
    auto deleted = subscription("price_business", 4000, "canceled");
    deleted.deleted = true;
    EXPECT_EQ(apply_subscription(customer, deleted, plans), BillingChange::Applied);
    EXPECT_EQ(customer.plan, "free");
}

TEST(ApplySubscription, AnotherSubscriptionEndingIsIgnoredAndIncompleteWaits) {
    const auto plans = account::default_plans();
    auto customer = pro_customer();
    auto old = subscription("price_pro", 5000, "canceled");
    old.id = "sub_old";
    old.deleted = true;
    EXPECT_EQ(apply_subscription(customer, old, plans), BillingChange::Ignored);
    EXPECT_EQ(customer.plan, "pro");
    EXPECT_EQ(apply_subscription(customer, subscription("price_business", 5000, "incomplete"),
                                 plans),
              BillingChange::Ignored);
}

TEST(ApplyInvoice, FailedThenPaidAndOrder) {
    auto customer = pro_customer();
    EXPECT_EQ(apply_invoice(customer, false, 100), BillingChange::Applied);
    EXPECT_EQ(customer.billing_status, "past_due");
    EXPECT_EQ(customer.past_due_since, 100);
    EXPECT_EQ(apply_invoice(customer, false, 200), BillingChange::Applied);
    EXPECT_EQ(customer.past_due_since, 100) << "the first failure starts the grace period";
    EXPECT_EQ(apply_invoice(customer, true, 150), BillingChange::Stale);
    EXPECT_EQ(customer.billing_status, "past_due");
    EXPECT_EQ(apply_invoice(customer, true, 300), BillingChange::Applied);
    EXPECT_EQ(customer.billing_status, "active");
    EXPECT_FALSE(customer.past_due_since);
}

TEST(SyncSubscriptions, NewestLiveSubscriptionWinsNoneMeansFree) {
    const auto plans = account::default_plans();
    auto customer = pro_customer();
    auto older = subscription("price_pro", 100);
    auto newer = subscription("price_business", 200);
    newer.id = "sub_2";
    EXPECT_EQ(sync_subscriptions(customer, {older, newer}, plans, 9000), BillingChange::Applied);
    EXPECT_EQ(customer.plan, "business");
    EXPECT_EQ(customer.stripe_subscription_id, "sub_2");
    EXPECT_EQ(customer.subscription_event_at, 9000) << "older webhooks cannot undo a sync";
    EXPECT_EQ(sync_subscriptions(customer, {older, newer}, plans, 9500), BillingChange::Ignored);
    EXPECT_EQ(sync_subscriptions(customer, {subscription("price_pro", 100, "canceled")}, plans,
                                 9900),
              BillingChange::Applied);
    EXPECT_EQ(customer.plan, "free");
}

TEST(DailyOverage, OnlyBytesBeyondTheMonthsQuotaEachMonthAfresh) {
    const std::vector<DailyBytes> days{
        {NOV_1_2023, 600},           {NOV_1_2023 + DAY, 600},     {NOV_1_2023 + 2 * DAY, 300},
        {NOV_1_2023 + 3 * DAY, 0},   {NOV_1_2023 + 30 * DAY, 900}, // Dec 1: a new month
        {NOV_1_2023 + 31 * DAY, 400},
    };
    const auto overage = daily_overage(days, 1000);
    ASSERT_EQ(overage.size(), 3u);
    EXPECT_EQ(overage[0].day, NOV_1_2023 + DAY);
    EXPECT_EQ(overage[0].bytes, 200);
    EXPECT_EQ(overage[1].bytes, 300);
    EXPECT_EQ(overage[2].day, NOV_1_2023 + 31 * DAY);
    EXPECT_EQ(overage[2].bytes, 300);
}

} // namespace
} // namespace cdn::billing
