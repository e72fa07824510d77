#include "cache/purge.h"

#include <boost/json.hpp>

#include <array>
#include <utility>

#include "cache/cache_key.h"

namespace cdn::cache {
namespace {

namespace json = boost::json;
using Scope = PurgeRequest::Scope;

constexpr std::array<std::pair<Scope, std::string_view>, 3> SCOPE_NAMES{{
    {Scope::Paths, "paths"},
    {Scope::Prefix, "prefix"},
    {Scope::All, "all"},
}};

core::Error malformed(std::string_view what) {
    return core::make_error(core::Errc::InvalidRequest,
                            "malformed purge message: " + std::string(what));
}

/** A non-empty string member, or an error naming it. */
core::Result<std::string> non_empty_string(const json::object& message, std::string_view name) {
    const auto* value = message.if_contains(name);
    if (value == nullptr || !value->is_string() || value->get_string().empty()) {
        return malformed(std::string(name) + " must be a non-empty string");
    }
    return std::string(value->get_string());
}

core::Result<Scope> parse_scope(const json::object& message) {
    CDN_TRY(name, non_empty_string(message, "scope"));
    for (const auto& [value, known] : SCOPE_NAMES) {
        if (known == name) {
            return value;
        }
    }
    return malformed("unknown scope " + name);
}

core::Result<std::vector<std::string>> parse_paths(const json::object& message) {
    const auto* value = message.if_contains("paths");
    if (value == nullptr || !value->is_array() || value->get_array().empty()) {
        return malformed("paths must be a non-empty list");
    }
    std::vector<std::string> paths;
    for (const auto& path : value->get_array()) {
        if (!path.is_string() || path.get_string().empty()) {
            return malformed("paths must hold non-empty strings");
        }
        paths.emplace_back(path.get_string());
    }
    return paths;
}

/** Reads the member its scope needs; the caller has checked there is no other. */
core::Result<void> parse_target(const json::object& message, PurgeRequest& request) {
    if (request.scope == Scope::Paths) {
        CDN_TRY(paths, parse_paths(message));
        request.paths = std::move(paths);
    } else if (request.scope == Scope::Prefix) {
        CDN_TRY(prefix, non_empty_string(message, "prefix"));
        request.prefix = std::move(prefix);
    }
    return {};
}

/** public_key and scope, plus "paths" or "prefix" for those scopes. */
std::size_t expected_members(Scope scope) {
    return scope == Scope::All ? 2 : 3;
}

core::Result<json::object> parse_object(std::string_view text) {
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    if (ec || !value.is_object()) {
        return malformed("not a JSON object");
    }
    return std::move(value.get_object());
}

} // namespace

std::string_view scope_name(PurgeRequest::Scope scope) {
    for (const auto& [value, name] : SCOPE_NAMES) {
        if (value == scope) {
            return name;
        }
    }
    return {};
}

std::string encode_purge(const PurgeRequest& request) {
    json::object message;
    message["public_key"] = request.public_key;
    message["scope"] = scope_name(request.scope);
    if (request.scope == Scope::Paths) {
        message["paths"] = json::array(request.paths.begin(), request.paths.end());
    } else if (request.scope == Scope::Prefix) {
        message["prefix"] = request.prefix;
    }
    return json::serialize(message);
}

core::Result<PurgeRequest> decode_purge(std::string_view text) {
    CDN_TRY(message, parse_object(text));
    PurgeRequest request;
    CDN_TRY(public_key, non_empty_string(message, "public_key"));
    // Keys are `imagecdn:{public_key}:…`: a ':' in it would name another customer's paths.
    if (public_key.find(':') != std::string::npos) {
        return malformed("public_key must not contain ':'");
    }
    request.public_key = std::move(public_key);
    CDN_TRY(scope, parse_scope(message));
    request.scope = scope;
    CDN_TRY_VOID(parse_target(message, request));
    // Every member read above exists, so a count over the expected one is an unknown member.
    if (message.size() != expected_members(scope)) {
        return malformed("unexpected members for scope " + std::string(scope_name(scope)));
    }
    return request;
}

std::size_t apply_purge(TieredCache& cache, const PurgeRequest& request) {
    switch (request.scope) {
    case Scope::Paths: {
        std::size_t dropped = 0;
        for (const auto& path : request.paths) {
            dropped += cache.purge_prefix(key_prefix_for_path(request.public_key, path));
        }
        return dropped;
    }
    case Scope::Prefix:
        return cache.purge_prefix(key_prefix_for_path_prefix(request.public_key, request.prefix));
    case Scope::All:
        return cache.purge_prefix(key_prefix_for_customer(request.public_key));
    }
    return 0;
}

} // namespace cdn::cache
