#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/message.h"

namespace cdn::api {

namespace json = boost::json;

/** Largest JSON body any endpoint takes (uploads are not JSON). */
inline constexpr std::size_t MAX_JSON_BODY_BYTES = 64 * 1024;

/**
 * The request body as a JSON object. Errors: 415 unsupported_media_type when Content-Type is
 * not application/json, 413 payload_too_large above `max_bytes`, 400 invalid_json when it
 * does not parse or is not an object. An empty body is `{}` only when `allow_empty`.
 */
core::Result<json::object> json_body(const http::Request& request, bool allow_empty = false,
                                     std::size_t max_bytes = MAX_JSON_BODY_BYTES);

/**
 * Typed access to a JSON object's members, each failure a 422 naming the field (`code`
 * invalid_request unless another is given, e.g. invalid_settings).
 */
class Fields {
public:
    explicit Fields(const json::object& object, core::Errc code = core::Errc::InvalidRequest)
        : object_(object), code_(code) {}

    /** A string of min..max bytes (UTF-8 as sent). */
    core::Result<std::string> string(std::string_view name, std::size_t min, std::size_t max) const;
    core::Result<std::optional<std::string>> optional_string(std::string_view name,
                                                             std::size_t min,
                                                             std::size_t max) const;
    core::Result<std::optional<std::int64_t>> optional_integer(std::string_view name,
                                                               std::int64_t min,
                                                               std::int64_t max) const;
    core::Result<std::optional<bool>> optional_bool(std::string_view name) const;
    /** Refuses members not in `known`. */
    core::Result<void> only(std::initializer_list<std::string_view> known) const;

    core::Error invalid(std::string_view name, std::string message) const;

private:
    const json::object& object_;
    core::Errc code_;
};

/** `status` with the JSON serialisation of `body`. */
http::Response json_response(unsigned status, const json::value& body);

/** 204 No Content. */
http::Response no_content();

/** The error response for `error` (shortcut for handlers). */
http::Response error_response(const core::Error& error);

} // namespace cdn::api
