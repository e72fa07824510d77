#include "account/customer_settings.h"

#include <boost/json.hpp>

#include <algorithm>
#include <utility>

#include "security/domain_allowlist.h"

namespace cdn::account {
namespace {

namespace json = boost::json;
using core::Errc;

core::Error invalid(std::string_view field, std::string message) {
    return core::make_field_error(Errc::InvalidSettings, std::string(field),
                                  std::string(field) + ": " + std::move(message));
}

core::Result<bool> as_bool(std::string_view field, const json::value& value) {
    if (!value.is_bool()) {
        return invalid(field, "must be true or false");
    }
    return value.get_bool();
}

core::Result<std::uint32_t> as_integer(std::string_view field, const json::value& value,
                                       std::int64_t min, std::int64_t max) {
    std::optional<std::int64_t> number;
    if (value.is_int64()) {
        number = value.get_int64();
    } else if (value.is_uint64() && value.get_uint64() <= static_cast<std::uint64_t>(max)) {
        number = static_cast<std::int64_t>(value.get_uint64());
    }
    if (!number || *number < min || *number > max) {
        return invalid(field, "must be an integer from " + std::to_string(min) + " to " +
                                  std::to_string(max));
    }
    return static_cast<std::uint32_t>(*number);
}

core::Result<std::vector<std::string>> as_domains(std::string_view field,
                                                  const json::value& value) {
    const auto bad_list = [field] {
        return invalid(field, "must be a list of at most " + std::to_string(MAX_ALLOWED_DOMAINS) +
                                  " host names like example.com or *.example.com");
    };
    if (!value.is_array() || value.get_array().size() > MAX_ALLOWED_DOMAINS) {
        return bad_list();
    }
    std::vector<std::string> domains;
    for (const auto& entry : value.get_array()) {
        if (!entry.is_string()) {
            return bad_list();
        }
        auto normalised = security::normalize_domain_pattern(entry.get_string());
        if (!normalised) {
            return invalid(field, normalised.error().message);
        }
        if (std::find(domains.begin(), domains.end(), *normalised) == domains.end()) {
            domains.push_back(std::move(*normalised));
        }
    }
    return domains;
}

core::Result<transform::RequestedFormat> as_format(std::string_view field,
                                                   const json::value& value) {
    const auto* text = value.if_string();
    const std::vector<std::pair<std::string, std::string>> params{
        {"format", text ? std::string(*text) : std::string()}};
    auto parsed = transform::parse_delivery_options(params, 1);
    if (!text || !parsed || *parsed->format == transform::RequestedFormat::Json) {
        return invalid(field, "must be one of auto, jpeg, png, webp, avif, gif");
    }
    return *parsed->format;
}

/** Sets one setting from a JSON member; `null` restores the default. */
core::Result<void> apply_member(CustomerSettings& s, std::string_view name,
                                const json::value& value) {
    const bool reset = value.is_null();
    const CustomerSettings defaults;
    if (name == "allowed_domains") {
        if (reset) {
            s.allowed_domains.clear();
            return {};
        }
        CDN_TRY(domains, as_domains(name, value));
        s.allowed_domains = std::move(domains);
    } else if (name == "default_quality") {
        if (reset) {
            s.default_quality.reset();
            return {};
        }
        CDN_TRY(quality, as_integer(name, value, 1, 100));
        s.default_quality = quality;
    } else if (name == "default_format") {
        if (reset) {
            s.default_format.reset();
            return {};
        }
        CDN_TRY(format, as_format(name, value));
        s.default_format = format;
    } else if (name == "require_signed_urls") {
        CDN_TRY(flag, reset ? core::Result<bool>(defaults.require_signed_urls)
                            : as_bool(name, value));
        s.require_signed_urls = flag;
    } else if (name == "cache_ttl_seconds") {
        if (reset) {
            s.cache_ttl_seconds.reset();
            return {};
        }
        CDN_TRY(ttl, as_integer(name, value, 0, MAX_CACHE_TTL_SECONDS));
        s.cache_ttl_seconds = ttl;
    } else if (name == "presets_only") {
        CDN_TRY(flag, reset ? core::Result<bool>(defaults.presets_only) : as_bool(name, value));
        s.presets_only = flag;
    } else {
        return invalid(name, "is not a setting");
    }
    return {};
}

core::Result<json::object> parse_object(std::string_view text) {
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    if (ec || !value.is_object()) {
        return core::make_error(Errc::InvalidJson, "settings must be a JSON object");
    }
    return std::move(value.get_object());
}

std::string_view format_text(transform::RequestedFormat format) {
    using F = transform::RequestedFormat;
    switch (format) {
    case F::Auto: return "auto";
    case F::Jpeg: return "jpeg";
    case F::Png: return "png";
    case F::Webp: return "webp";
    case F::Avif: return "avif";
    case F::Gif: return "gif";
    default: return "";
    }
}

} // namespace

core::Result<CustomerSettings> patch_settings(const CustomerSettings& current,
                                              std::string_view patch_json) {
    CDN_TRY(members, parse_object(patch_json));
    CustomerSettings patched = current;
    for (const auto& member : members) {
        CDN_TRY_VOID(apply_member(patched, member.key(), member.value()));
    }
    return patched;
}

core::Result<CustomerSettings> parse_settings(std::string_view json) {
    return patch_settings(CustomerSettings{}, json.empty() ? "{}" : json);
}

std::string settings_to_json(const CustomerSettings& s) {
    json::object out;
    if (!s.allowed_domains.empty()) {
        json::array domains;
        for (const auto& domain : s.allowed_domains) {
            domains.emplace_back(domain);
        }
        out["allowed_domains"] = std::move(domains);
    }
    if (s.default_quality) {
        out["default_quality"] = *s.default_quality;
    }
    if (s.default_format) {
        out["default_format"] = format_text(*s.default_format);
    }
    if (s.require_signed_urls) {
        out["require_signed_urls"] = true;
    }
    if (s.cache_ttl_seconds) {
        out["cache_ttl_seconds"] = *s.cache_ttl_seconds;
    }
    if (s.presets_only) {
        out["presets_only"] = true;
    }
    return json::serialize(out);
}

core::Result<void> check_settings_plan(const CustomerSettings& settings, const Plan& plan) {
    if (settings.require_signed_urls && !plan.signed_urls) {
        return core::make_field_error(Errc::FeatureNotInPlan, "require_signed_urls",
                                      "signed URLs are not in the " + plan.name + " plan");
    }
    if (settings.default_format == transform::RequestedFormat::Avif && !plan.avif) {
        return core::make_field_error(Errc::FeatureNotInPlan, "default_format",
                                      "AVIF output is not in the " + plan.name + " plan");
    }
    return {};
}

std::string cache_control_for(const CustomerSettings& settings) {
    if (!settings.cache_ttl_seconds || *settings.cache_ttl_seconds == MAX_CACHE_TTL_SECONDS) {
        return "public, max-age=31536000, immutable";
    }
    if (*settings.cache_ttl_seconds == 0) {
        return "no-cache";
    }
    return "public, max-age=" + std::to_string(*settings.cache_ttl_seconds);
}

std::string cache_control_within(const CustomerSettings& settings, std::int64_t seconds_left) {
    const std::int64_t ttl = settings.cache_ttl_seconds.value_or(MAX_CACHE_TTL_SECONDS);
    if (ttl == 0) {
        return cache_control_for(settings);
    }
    return "public, max-age=" + std::to_string(std::clamp<std::int64_t>(seconds_left, 0, ttl));
}

} // namespace cdn::account
