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

http::Response list_presets(ApiDeps& deps, ApiRequest& req) {
    auto presets = db::PresetRepository(deps.db).list(req.caller().customer_id);
    if (!presets) {
        return error_response(presets.error());
    }
    json::array items;
    for (const auto& preset : *presets) {
        items.emplace_back(preset_json(preset));
    }
    return json_response(200, json::object{{"items", std::move(items)}, {"next_cursor", nullptr}});
}

/** PUT: 201 when the preset is new, 200 when it replaced one of the same name. */
http::Response put_preset_route(ApiDeps& deps, ApiRequest& req) {
    const auto name = req.param("name");
    if (auto valid = account::validate_preset_name(name); !valid) {
        return error_response(valid.error());
    }
    auto body = json_body(req.http);
    if (!body) {
        return error_response(body.error());
    }
    const Fields fields(*body, core::Errc::InvalidPreset);
    if (auto known = fields.only({"options"}); !known) {
        return error_response(known.error());
    }
    auto options = fields.string("options", 1, account::MAX_PRESET_OPTIONS_BYTES);
    if (!options) {
        return error_response(options.error());
    }
    auto customer = load_customer(deps.db, req.caller().customer_id);
    if (!customer) {
        return error_response(customer.error());
    }
    auto put = account::put_preset(deps.db, deps.clock,
                                   static_cast<std::uint32_t>(deps.limits.max_output_dimension),
                                   customer->id, name, *options);
    if (!put) {
        return error_response(put.error());
    }
    announce_config_change(deps.kv, customer->public_key);
    return json_response(put->created ? 201 : 200, preset_json(put->preset));
}

http::Response delete_preset_route(ApiDeps& deps, ApiRequest& req) {
    auto customer = load_customer(deps.db, req.caller().customer_id);
    if (!customer) {
        return error_response(customer.error());
    }
    auto removed = account::delete_preset(deps.db, customer->id, req.param("name"));
    if (!removed) {
        return error_response(removed.error());
    }
    if (!*removed) {
        return error_response(core::make_error(core::Errc::NotFound,
                                               "no preset named " + std::string(req.param("name"))));
    }
    announce_config_change(deps.kv, customer->public_key);
    return no_content();
}

} // namespace

void add_presets_routes(ApiRouter& router, ApiDeps& deps) {
    router.add({"GET", "/api/v1/presets", Access::Customer,
                [&deps](ApiRequest& req) { return list_presets(deps, req); }});
    // Preset writes reload the customer on every edge node, like settings writes: same budget.
    router.add({"PUT", "/api/v1/presets/{name}", Access::Customer,
                limit_per_customer(deps, "settings", [&deps](ApiRequest& req) {
                    return put_preset_route(deps, req);
                })});
    router.add({"DELETE", "/api/v1/presets/{name}", Access::Customer,
                limit_per_customer(deps, "settings", [&deps](ApiRequest& req) {
                    return delete_preset_route(deps, req);
                })});
}

} // namespace cdn::api
