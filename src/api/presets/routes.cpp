#include "api/presets/routes.h"

#include "api/common/announce.h"
#include "api/common/customer_json.h"
#include "api/common/json.h"
#include "api/common/tenant_limits.h"
#include "account/customer_service.h"
#include "core/strings.h"
#include "db/preset_repository.h"

namespace cdn::api {
namespace {

json::object preset_json(const db::PresetRecord& preset) {
    return {
        {"name", preset.name},
        {"options", preset.options},
        {"updated_at", core::rfc3339(preset.updated_at)},
    };
}

core::Result<http::Response> list_presets(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(presets, db::PresetRepository(deps.db).list(req.caller().customer_id));
    json::array items;
    for (const auto& preset : presets) {
        items.emplace_back(preset_json(preset));
    }
    return json_response(200, json::object{{"items", std::move(items)}, {"next_cursor", nullptr}});
}

/** The `{options}` body of PUT /presets/{name} (invalid_preset naming the field). */
core::Result<std::string> read_preset_options(const http::Request& request) {
    CDN_TRY(body, JsonBody::read(request, {"options"}, {.code = core::Errc::InvalidPreset}));
    return body.string("options", 1, account::MAX_PRESET_OPTIONS_BYTES);
}

/** PUT: 201 when the preset is new, 200 when it replaced one of the same name. */
core::Result<http::Response> put_preset_route(ApiDeps& deps, ApiRequest& req) {
    const auto name = req.param("name");
    CDN_TRY_VOID(account::validate_preset_name(name));
    CDN_TRY(options, read_preset_options(req.http));
    CDN_TRY(customer, caller_customer(deps, req));
    CDN_TRY(put, account::put_preset(deps.db, deps.clock,
                                     static_cast<std::uint32_t>(deps.limits.max_output_dimension),
                                     customer.id, name, options));
    announce_config_change(deps.kv, customer.public_key);
    return json_response(put.created ? 201 : 200, preset_json(put.preset));
}

core::Result<http::Response> delete_preset_route(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(customer, caller_customer(deps, req));
    CDN_TRY(removed, account::delete_preset(deps.db, customer.id, req.param("name")));
    if (!removed) {
        return core::make_error(core::Errc::NotFound,
                                "no preset named " + std::string(req.param("name")));
    }
    announce_config_change(deps.kv, customer.public_key);
    return no_content();
}

} // namespace

void add_presets_routes(ApiRouter& router, ApiDeps& deps) {
    router.add({"GET", "/api/v1/presets", "listPresets", Access::Customer,
                with_deps(deps, list_presets)});
    // Preset writes reload the customer on every edge node, like settings writes: same budget.
    router.add({"PUT", "/api/v1/presets/{name}", "putPreset", Access::Customer,
                limit_per_customer(deps, "settings", with_deps(deps, put_preset_route))});
    router.add({"DELETE", "/api/v1/presets/{name}", "deletePreset", Access::Customer,
                limit_per_customer(deps, "settings", with_deps(deps, delete_preset_route))});
}

} // namespace cdn::api
