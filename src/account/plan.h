#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace cdn::account {

/** One plan of plans.md: the features and limits the edge enforces, and what it is sold at.
 *  Plans are data: `[plans.<name>]` tables in the config change these or add plans. */
struct Plan {
    std::string name;
    double price_usd = 0;
    /** Stripe price id for checkout; empty for free plans. */
    std::string stripe_price_id;
    bool avif = false;
    bool signed_urls = false;
    std::uint64_t custom_domains = 0;
    /** Largest output width or height, after dpr. */
    std::uint64_t max_dimension = 2048;
    std::uint64_t rate_limit_rps = 50;
    /** Bytes served per calendar month. */
    std::uint64_t bandwidth_quota_bytes = 1'000'000'000;
    /** "block" (402 over quota) or "overage" (served, overage recorded). */
    std::string over_quota = "block";
    std::uint64_t storage_quota_bytes = 1'000'000'000;
    std::uint64_t max_original_bytes = 20'000'000;
};

using PlanTable = std::map<std::string, Plan, std::less<>>;

/** plans.md's three plans: free, pro, business. */
PlanTable default_plans();

/** The plan called `name`; a plan removed from the config falls back to the most restrictive
 *  one we know: free. */
const Plan& plan_named(const PlanTable& plans, std::string_view name);

} // namespace cdn::account
