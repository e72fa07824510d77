#include "api/common/json.h"

#include <algorithm>

#include "core/strings.h"

namespace cdn::api {

core::Result<json::object> json_body(const http::Request& request, bool allow_empty,
                                     std::size_t max_bytes) {
    if (request.body.empty() && allow_empty) {
        return json::object{};
    }
    const auto type = core::to_lower(core::trim(
        core::split(request.header("content-type").value_or(""), ';').front()));
    if (type != "application/json") {
        return core::make_error(core::Errc::UnsupportedMediaType,
                                "the body must be application/json");
    }
    if (request.body.size() > max_bytes) {
        return core::make_error(core::Errc::PayloadTooLarge, "the JSON body is too large");
    }
    boost::system::error_code ec;
    auto value = json::parse(request.body, ec);
    if (ec || !value.is_object()) {
        return core::make_error(core::Errc::InvalidJson, "the body is not a JSON object");
    }
    return std::move(value.get_object());
}

core::Result<JsonBody> JsonBody::read(const http::Request& request,
                                      std::initializer_list<std::string_view> fields,
                                      const BodyOptions& options) {
    CDN_TRY(object, json_body(request, options.allow_empty, options.max_bytes));
    JsonBody body(std::move(object), options.code);
    CDN_TRY_VOID(body.only(fields));
    return body;
}

core::Error invalid_field(std::string_view name, std::string message, core::Errc code) {
    return core::make_field_error(code, std::string(name),
                                  std::string(name) + ": " + std::move(message));
}

core::Error JsonBody::invalid(std::string_view name, std::string message) const {
    return invalid_field(name, std::move(message), code_);
}

core::Result<std::optional<std::string>> JsonBody::optional_string(std::string_view name,
                                                                 std::size_t min,
                                                                 std::size_t max) const {
    const auto* value = object_.if_contains(name);
    if (value == nullptr || value->is_null()) {
        return std::optional<std::string>{};
    }
    if (!value->is_string() || value->get_string().size() < min ||
        value->get_string().size() > max) {
        return invalid(name, "must be a string of " + std::to_string(min) + " to " +
                                 std::to_string(max) + " bytes");
    }
    return std::optional<std::string>(std::string(value->get_string()));
}

core::Result<std::string> JsonBody::string(std::string_view name, std::size_t min,
                                         std::size_t max) const {
    CDN_TRY(value, optional_string(name, min, max));
    if (!value) {
        return invalid(name, "is required");
    }
    return std::move(*value);
}

core::Result<std::optional<std::int64_t>> JsonBody::optional_integer(std::string_view name,
                                                                   std::int64_t min,
                                                                   std::int64_t max) const {
    const auto* value = object_.if_contains(name);
    if (value == nullptr || value->is_null()) {
        return std::optional<std::int64_t>{};
    }
    std::optional<std::int64_t> number;
    if (value->is_int64()) {
        number = value->get_int64();
    } else if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(max)) {
        number = static_cast<std::int64_t>(value->get_uint64());
    }
    if (!number || *number < min || *number > max) {
        return invalid(name, "must be an integer from " + std::to_string(min) + " to " +
                                 std::to_string(max));
    }
    return number;
}

core::Result<std::int64_t> JsonBody::integer(std::string_view name, std::int64_t min,
                                             std::int64_t max) const {
    CDN_TRY(value, optional_integer(name, min, max));
    if (!value) {
        return invalid(name, "is required");
    }
    return *value;
}

core::Result<std::optional<bool>> JsonBody::optional_bool(std::string_view name) const {
    const auto* value = object_.if_contains(name);
    if (value == nullptr || value->is_null()) {
        return std::optional<bool>{};
    }
    if (!value->is_bool()) {
        return invalid(name, "must be true or false");
    }
    return std::optional<bool>(value->get_bool());
}

core::Result<void> JsonBody::only(std::initializer_list<std::string_view> known) const {
    for (const auto& member : object_) {
        if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
            return invalid(member.key(), "is not a known field");
        }
    }
    return {};
}

http::Response json_response(unsigned status, const json::value& body) {
    return http::Response::json(status, json::serialize(body));
}

http::Response no_content() {
    http::Response res;
    res.status = 204;
    return res;
}

http::Response retry_later(const core::Error& error, std::int64_t seconds) {
    auto res = http::Response::error(error);
    res.set_header("Retry-After", std::to_string(seconds));
    return res;
}

} // namespace cdn::api
