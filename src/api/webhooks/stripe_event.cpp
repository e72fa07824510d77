#include "api/webhooks/stripe_event.h"

namespace cdn::api {

std::string text_of(const json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

std::int64_t integer_of(const json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    return value && value->is_int64() ? value->get_int64() : 0;
}

const json::object& object_of(const json::object& object, std::string_view key) {
    static const json::object empty;
    const auto* value = object.if_contains(key);
    return value && value->is_object() ? value->get_object() : empty;
}

bool handled(std::string_view type) {
    return type == "checkout.session.completed" || type == "customer.subscription.created" ||
           type == "customer.subscription.updated" || type == "customer.subscription.deleted" ||
           type == "invoice.paid" || type == "invoice.payment_failed";
}

core::Result<StripeEvent> parse_event(std::string_view body) {
    boost::system::error_code ec;
    auto parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) {
        return core::make_error(core::Errc::InvalidJson, "the event is not a JSON object");
    }
    const auto& root = parsed.get_object();
    StripeEvent event{
        .id = text_of(root, "id"),
        .type = text_of(root, "type"),
        .created = integer_of(root, "created"),
        .object = object_of(object_of(root, "data"), "object"),
    };
    if (event.id.empty() || event.type.empty()) {
        return core::make_error(core::Errc::BadRequest, "the event has no id or type");
    }
    return event;
}

std::string price_of(const json::object& subscription) {
    const auto* data = object_of(subscription, "items").if_contains("data");
    if (!data || !data->is_array() || data->get_array().empty() ||
        !data->get_array().front().is_object()) {
        return {};
    }
    return text_of(object_of(data->get_array().front().get_object(), "price"), "id");
}

} // namespace cdn::api
