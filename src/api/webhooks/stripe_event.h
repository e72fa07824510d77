#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cdn::api {

namespace json = boost::json;

/** The parts of a Stripe event we act on. */
struct StripeEvent {
    std::string id;
    std::string type;
    std::int64_t created = 0;
    json::object object;
};

/** A verified webhook body as an event. Errors: invalid_json for anything but a JSON object,
 *  bad_request without an id or type. Separate from the route so the fuzzer calls it too. */
core::Result<StripeEvent> parse_event(std::string_view body);

/** The event types the route applies; the others are acknowledged and ignored. */
bool handled(std::string_view type);

/** Member `key` of `object` when it is a string; empty otherwise. */
std::string text_of(const json::object& object, std::string_view key);

/** Member `key` of `object` when it is an integer; 0 otherwise. */
std::int64_t integer_of(const json::object& object, std::string_view key);

/** Member `key` of `object` when it is an object; an empty object otherwise. */
const json::object& object_of(const json::object& object, std::string_view key);

/** The first subscription item's price id. */
std::string price_of(const json::object& subscription);

} // namespace cdn::api
