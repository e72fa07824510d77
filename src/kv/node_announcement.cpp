#include "kv/node_announcement.h"

#include <boost/json.hpp>

namespace cdn::kv {
namespace {

namespace json = boost::json;

core::Error malformed(std::string detail) {
    return core::make_error(core::Errc::InvalidRequest, "malformed node announcement",
                            std::move(detail));
}

core::Result<std::string> text_member(const json::object& object, std::string_view name) {
    const auto* value = object.if_contains(name);
    if (value == nullptr || !value->is_string()) {
        return malformed(std::string(name) + " must be a string");
    }
    return std::string(value->get_string());
}

} // namespace

std::string encode_announcement(const NodeAnnouncement& node) {
    return json::serialize(json::object{
        {"id", node.id},
        {"role", node.role},
        {"version", node.version},
        {"started_at", node.started_at},
        {"listen", node.listen},
        {"host", node.host},
        {"config_fingerprint", node.config_fingerprint},
    });
}

core::Result<NodeAnnouncement> decode_announcement(std::string_view text) {
    boost::system::error_code ec;
    const auto value = json::parse(text, ec);
    if (ec || !value.is_object()) {
        return malformed("not a JSON object");
    }
    const auto& object = value.get_object();
    const auto* started = object.if_contains("started_at");
    if (started == nullptr || !started->is_int64()) {
        return malformed("started_at must be an integer");
    }
    NodeAnnouncement node{.started_at = started->get_int64()};
    CDN_TRY(id, text_member(object, "id"));
    CDN_TRY(role, text_member(object, "role"));
    CDN_TRY(version, text_member(object, "version"));
    CDN_TRY(listen, text_member(object, "listen"));
    CDN_TRY(host, text_member(object, "host"));
    CDN_TRY(fingerprint, text_member(object, "config_fingerprint"));
    node.id = std::move(id);
    node.role = std::move(role);
    node.version = std::move(version);
    node.listen = std::move(listen);
    node.host = std::move(host);
    node.config_fingerprint = std::move(fingerprint);
    return node;
}

} // namespace cdn::kv
