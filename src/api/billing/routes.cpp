#include "api/billing/routes.h"

#include "api/common/json.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace cdn::api {
namespace {

/** One plan with its features and limits under the config's key names (plans.md). */
json::object plan_json(const billing::Plan& plan) {
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

} // namespace

void add_billing_routes(ApiRouter& router, ApiDeps& deps) {
    router.add({"GET", "/api/v1/billing/plans", Access::Public, [&deps](ApiRequest&) {
                    // Cheapest first, as a pricing page lists them.
                    std::vector<const billing::Plan*> plans;
                    for (const auto& entry : deps.plans) {
                        plans.push_back(&entry.second);
                    }
                    std::stable_sort(plans.begin(), plans.end(), [](const auto* a, const auto* b) {
                        return a->price_usd < b->price_usd;
                    });
                    json::array items;
                    for (const auto* plan : plans) {
                        items.push_back(plan_json(*plan));
                    }
                    return json_response(200, json::object{{"items", std::move(items)}});
                }});
}

} // namespace cdn::api
