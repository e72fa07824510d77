#include "account/plan.h"

namespace cdn::account {

PlanTable default_plans() {
    PlanTable plans;
    plans["free"] = Plan{.name = "free"};
    plans["pro"] = Plan{
        .name = "pro",
        .price_usd = 20,
        .stripe_price_id = "price_pro",
        .avif = true,
        .signed_urls = true,
        .custom_domains = 1,
        .max_dimension = 4096,
        .rate_limit_rps = 500,
        .bandwidth_quota_bytes = 100'000'000'000,
        .over_quota = "overage",
        .storage_quota_bytes = 50'000'000'000,
        .max_original_bytes = 50'000'000,
    };
    plans["business"] = Plan{
        .name = "business",
        .price_usd = 200,
        .stripe_price_id = "price_business",
        .avif = true,
        .signed_urls = true,
        .custom_domains = 10,
        .max_dimension = 8192,
        .rate_limit_rps = 2000,
        .bandwidth_quota_bytes = 1'000'000'000'000,
        .over_quota = "overage",
        .storage_quota_bytes = 500'000'000'000,
        .max_original_bytes = 100'000'000,
    };
    return plans;
}

const Plan& plan_named(const PlanTable& plans, std::string_view name) {
    static const Plan unknown_plan{.name = "free"};
    for (const auto candidate : {name, std::string_view("free")}) {
        if (const auto it = plans.find(candidate); it != plans.end()) {
            return it->second;
        }
    }
    return unknown_plan;
}

} // namespace cdn::account
