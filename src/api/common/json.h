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

/** How a route's JSON body is read. */
struct BodyOptions {
    /** The code of a 422 about a member: invalid_request, or e.g. invalid_preset. */
    core::Errc code = core::Errc::InvalidRequest;
    /** An empty body reads as `{}` (a refresh token may come in a cookie instead). */
    bool allow_empty = false;
    std::size_t max_bytes = MAX_JSON_BODY_BYTES;
};

/**
 * The request body as a JSON object. Errors: 415 unsupported_media_type when Content-Type is
 * not application/json, 413 payload_too_large above `max_bytes`, 400 invalid_json when it
 * does not parse or is not an object. An empty body is `{}` only when `allow_empty`.
 */
core::Result<json::object> json_body(const http::Request& request, bool allow_empty = false,
                                     std::size_t max_bytes = MAX_JSON_BODY_BYTES);

/** The 422 about request field `name`: "name: message", `error.field` set. */
core::Error invalid_field(std::string_view name, std::string message,
                          core::Errc code = core::Errc::InvalidRequest);

/**
 * A request's JSON object body, parsed once and held to the members its route declares, with
 * typed access to each: every failure is a 422 naming the field (`error.field`). Route readers
 * turn it into a struct of the declared fields.
 */
class JsonBody {
public:
    /** json_body()'s errors, then a member not in `fields` (422 naming it). */
    static core::Result<JsonBody> read(const http::Request& request,
                                       std::initializer_list<std::string_view> fields,
                                       const BodyOptions& options = {});

    const json::object& object() const { return object_; }

    /** A string of min..max bytes (UTF-8 as sent). */
    core::Result<std::string> string(std::string_view name, std::size_t min, std::size_t max) const;
    core::Result<std::optional<std::string>> optional_string(std::string_view name,
                                                             std::size_t min,
                                                             std::size_t max) const;
    core::Result<std::int64_t> integer(std::string_view name, std::int64_t min,
                                       std::int64_t max) const;
    core::Result<std::optional<std::int64_t>> optional_integer(std::string_view name,
                                                               std::int64_t min,
                                                               std::int64_t max) const;
    core::Result<std::optional<bool>> optional_bool(std::string_view name) const;

    /** The 422 about member `name`: "name: message". */
    core::Error invalid(std::string_view name, std::string message) const;

private:
    JsonBody(json::object object, core::Errc code) : object_(std::move(object)), code_(code) {}
    /** Refuses members not in `known`. */
    core::Result<void> only(std::initializer_list<std::string_view> known) const;

    json::object object_;
    core::Errc code_;
};

/** `status` with the JSON serialisation of `body`. */
http::Response json_response(unsigned status, const json::value& body);

/** 204 No Content. */
http::Response no_content();

/** The error answer for a refusal the client may retry after `seconds` (429, 503 busy). */
http::Response retry_later(const core::Error& error, std::int64_t seconds);

} // namespace cdn::api
