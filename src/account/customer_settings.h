#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "account/plan.h"
#include "core/result.h"
#include "transform/options.h"

namespace cdn::account {

/**
 * A customer's delivery settings (api.md `PATCH /customer/settings`), stored as JSON in
 * customers.settings. One parser for every reader: the API validates a patch with it, the
 * operator CLI too, and the edge reads the stored object with it, so what was accepted is
 * exactly what is enforced.
 */
struct CustomerSettings {
    /** Normalised host patterns (security::normalize_domain_pattern); empty allows all. */
    std::vector<std::string> allowed_domains;
    std::optional<std::uint32_t> default_quality;
    /** auto, jpeg, png, webp, avif or gif (the delivery aliases, e.g. jpg, are accepted). */
    std::optional<transform::RequestedFormat> default_format;
    bool require_signed_urls = false;
    /** Overrides the immutable one-year Cache-Control of delivered images. */
    std::optional<std::uint32_t> cache_ttl_seconds;
    bool presets_only = false;
};

inline constexpr std::size_t MAX_ALLOWED_DOMAINS = 100;
inline constexpr std::uint32_t MAX_CACHE_TTL_SECONDS = 31'536'000;

/** Parses a whole stored settings object. Errors: InvalidSettings naming the field (unknown
 *  fields included), InvalidJson for text that is not a JSON object. */
core::Result<CustomerSettings> parse_settings(std::string_view json);

/** Applies a PATCH body to `current`: each member present replaces that setting, `null` resets
 *  it to its default, members absent keep their value. Same errors as parse_settings. */
core::Result<CustomerSettings> patch_settings(const CustomerSettings& current,
                                              std::string_view patch_json);

/** The stored form: a JSON object with every setting that differs from its default. */
std::string settings_to_json(const CustomerSettings& settings);

/** FeatureNotInPlan naming the setting the plan does not allow (require_signed_urls without
 *  signed URLs, default_format avif without AVIF). */
core::Result<void> check_settings_plan(const CustomerSettings& settings, const Plan& plan);

/** The Cache-Control of delivered images under these settings. */
std::string cache_control_for(const CustomerSettings& settings);

/** The same for an answer that must not be cached beyond `seconds_left` (a signed URL's exp):
 *  max-age is the smaller of the two, never immutable. */
std::string cache_control_within(const CustomerSettings& settings, std::int64_t seconds_left);

} // namespace cdn::account
