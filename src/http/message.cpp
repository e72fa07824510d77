#include "http/message.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace cdn::http {

std::optional<std::string_view> Request::header(std::string_view name) const {
    for (const auto& h : headers) {
        if (core::iequals(h.name, name)) {
            return h.value;
        }
    }
    return std::nullopt;
}

void Response::set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
}

Response Response::text(unsigned status, std::string content_type, std::string body) {
    Response res;
    res.status = status;
    res.set_header("Content-Type", std::move(content_type));
    res.body = std::make_shared<const std::string>(std::move(body));
    return res;
}

Response Response::json(unsigned status, std::string body) {
    return text(status, "application/json", std::move(body));
}

Response Response::error(const core::Error& error) {
    const auto field = error.field.empty()
                           ? std::string()
                           : fmt::format(R"(,"field":"{}")", core::json_escape(error.field));
    auto res = json(core::http_status(error.code),
                    fmt::format(R"({{"error":{{"code":"{}","message":"{}"{}}}}})",
                                core::code_name(error.code), core::json_escape(error.message),
                                field));
    res.set_header("Cache-Control", "no-store");
    if (error.code == core::Errc::DatabaseUnavailable) {
        // An outage, not the request's fault: worth retrying, not at once.
        res.set_header("Retry-After", "5");
    }
    return res;
}

} // namespace cdn::http
