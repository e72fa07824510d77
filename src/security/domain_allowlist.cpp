#include "security/domain_allowlist.h"

#include <algorithm>
#include <cctype>

#include "core/strings.h"

namespace cdn::security {
namespace {

constexpr std::size_t MAX_LABEL_LENGTH = 63;
constexpr std::size_t MAX_HOST_LENGTH = 253;

bool is_label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/** Why `host` (lowercase, no trailing dot) is not a host name; empty when it is
 * one. */
std::string_view host_name_problem(std::string_view host) {
    if (host.empty()) {
        return "empty host name";
    }
    if (host.size() > MAX_HOST_LENGTH) {
        return "host name longer than 253 characters";
    }
    for (const auto label : core::split(host, '.')) {
        if (label.empty()) {
            return "empty label";
        }
        if (label.size() > MAX_LABEL_LENGTH) {
            return "label longer than 63 characters";
        }
        if (label.front() == '-' || label.back() == '-') {
            return "label starts or ends with -";
        }
        for (const char c : label) {
            if (!is_label_char(c)) {
                return "only letters, digits, -, _ and . are allowed";
            }
        }
    }
    return {};
}

bool is_scheme(std::string_view scheme) {
    if (scheme.empty() || !std::isalpha(static_cast<unsigned char>(scheme.front()))) {
        return false;
    }
    for (const char c : scheme) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
            return false;
        }
    }
    return true;
}

/** The authority ("host:port") of an Origin or Referer value, or nullopt. */
std::optional<std::string_view> header_authority(std::string_view value) {
    value = core::trim(value);
    const auto separator = value.find("://");
    if (separator == std::string_view::npos || !is_scheme(value.substr(0, separator))) {
        return std::nullopt;
    }
    const auto rest = value.substr(separator + 3);
    const auto authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.find('@') != std::string_view::npos) {
        return std::nullopt; // neither header may carry credentials
    }
    return authority;
}

struct HostPort {
    std::string_view host;
    std::string_view port;
};

/** The host and the (unchecked) port of an authority, or nullopt. */
std::optional<HostPort> split_authority(std::string_view authority) {
    if (!authority.starts_with('[')) {
        const auto colon = authority.find(':');
        if (colon == std::string_view::npos) {
            return HostPort{.host = authority, .port = {}};
        }
        return HostPort{.host = authority.substr(0, colon), .port = authority.substr(colon + 1)};
    }
    // An IPv6 literal: matched exactly, brackets included.
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
        return std::nullopt;
    }
    const auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
        return std::nullopt;
    }
    return HostPort{.host = authority.substr(0, close + 1),
                    .port = after.empty() ? std::string_view{} : after.substr(1)};
}

/** The host of an Origin or Referer value (lowercase, no port, no trailing
 * dot), or nullopt. */
std::optional<std::string> header_host(std::string_view value) {
    const auto authority = header_authority(value);
    const auto parts = authority ? split_authority(*authority) : std::nullopt;
    if (!parts || !std::all_of(parts->port.begin(), parts->port.end(),
                               [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    auto lower = core::to_lower(parts->host);
    if (lower.ends_with('.')) {
        lower.pop_back();
    }
    if (lower.empty() || (!lower.starts_with('[') && !host_name_problem(lower).empty())) {
        return std::nullopt;
    }
    return lower;
}

bool host_matches(std::string_view host, std::string_view entry) {
    if (entry.starts_with("*.")) {
        // "*.example.com" matches "a.example.com" but not "example.com": keep the dot.
        const auto suffix = entry.substr(1);
        return host.size() > suffix.size() &&
               core::iequals(host.substr(host.size() - suffix.size()), suffix);
    }
    return core::iequals(host, entry);
}

} // namespace

bool origin_allowed(const std::vector<std::string>& allowed_domains,
                    std::optional<std::string_view> origin,
                    std::optional<std::string_view> referer) {
    if (allowed_domains.empty()) {
        return true;
    }
    const auto header = origin ? origin : referer;
    if (!header) {
        return true; // server-to-server
    }
    const auto host = header_host(*header);
    if (!host) {
        return false;
    }
    for (const auto& entry : allowed_domains) {
        if (host_matches(*host, entry)) {
            return true;
        }
    }
    return false;
}

core::Result<std::string> normalize_domain_pattern(std::string_view pattern) {
    const auto refuse = [&](std::string_view why) {
        return core::make_error(core::Errc::InvalidRequest,
                                "allowed_domains entry \"" + core::json_escape(pattern) +
                                    "\" is not a host name or *.host name: " + std::string(why));
    };
    auto normalized = core::to_lower(pattern);
    if (normalized.find("://") != std::string::npos) {
        return refuse("give the host name without a scheme");
    }
    if (normalized.find_first_of("/?#") != std::string::npos) {
        return refuse("give the host name without a path");
    }
    if (normalized.find(':') != std::string::npos) {
        return refuse("give the host name without a port");
    }
    if (normalized.find_first_of(" \t\r\n") != std::string::npos) {
        return refuse("spaces are not allowed");
    }
    if (normalized.ends_with('.')) {
        normalized.pop_back();
    }
    std::string_view host = normalized;
    const bool wildcard = host.starts_with("*.");
    if (wildcard) {
        host.remove_prefix(2);
    }
    if (host.find('*') != std::string_view::npos) {
        return refuse("* is only allowed as a leading *.");
    }
    if (const auto problem = host_name_problem(host); !problem.empty()) {
        return refuse(problem);
    }
    if (wildcard && host.find('.') == std::string_view::npos) {
        return refuse("a wildcard needs at least two labels after *.");
    }
    return normalized;
}

} // namespace cdn::security
