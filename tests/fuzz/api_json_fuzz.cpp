// The API's JSON bodies as the routes read them: api::JsonBody::read with each route's declared
// members and typed accessors (signup, presets, purge), and a settings PATCH the way
// account::update_customer applies it (custom_domains, then account::patch_settings).
// Input: one byte choosing the route, then the body. Property: patched settings survive their
// stored form (settings_to_json parses back to the same JSON).
#include <boost/json.hpp>

#include "account/customer_service.h"
#include "account/customer_settings.h"
#include "api/common/json.h"
#include "fuzz_check.h"
#include "storage/key.h"

namespace {

using namespace cdn;

http::Request json_request(std::string_view body) {
    http::Request request;
    request.method = "POST";
    request.headers.push_back({"Content-Type", "application/json; charset=utf-8"});
    request.body = body;
    return request;
}

void signup(const http::Request& request) {
    auto body = api::JsonBody::read(request, {"email", "password"});
    if (body) {
        (void)body->string("email", 1, 254);
        (void)body->string("password", 8, 1024);
    }
}

void preset(const http::Request& request) {
    auto body = api::JsonBody::read(request, {"options"}, {.code = core::Errc::InvalidPreset});
    auto options = body ? body->string("options", 1, account::MAX_PRESET_OPTIONS_BYTES)
                        : core::Result<std::string>(body.error());
    if (options) {
        (void)account::validate_preset_options(*options, 8192);
    }
}

void purge(const http::Request& request) {
    auto body = api::JsonBody::read(request, {"paths", "prefix", "all"});
    if (!body) {
        return;
    }
    if (auto prefix = body->string("prefix", 1, storage::MAX_KEY_BYTES)) {
        (void)storage::validate_key(*prefix);
    }
    (void)body->optional_bool("all");
}

void settings_patch(const http::Request& request) {
    auto patch = api::json_body(request);
    if (!patch) {
        return;
    }
    if (const auto* domains = patch->if_contains("custom_domains")) {
        (void)account::parse_custom_domains(*domains);
        patch->erase("custom_domains");
    }
    auto patched = account::patch_settings({}, boost::json::serialize(*patch));
    if (patched) {
        const auto stored = account::settings_to_json(*patched);
        auto reread = account::parse_settings(stored);
        FUZZ_CHECK(reread.has_value());
        FUZZ_CHECK(account::settings_to_json(*reread) == stored);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const auto request = json_request(fuzz::text(data + 1, size - 1));
    switch (data[0] % 4) {
    case 0: signup(request); break;
    case 1: preset(request); break;
    case 2: purge(request); break;
    default: settings_patch(request); break;
    }
    return 0;
}
