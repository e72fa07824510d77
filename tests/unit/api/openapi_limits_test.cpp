// The limits the OpenAPI document (src/api/openapi.yaml) states and the server enforces are
// the same: each bound is read from the document and checked against the C++ constant, or,
// where the rule lives in a validator, against what that validator accepts at the bound and
// refuses just past it. A limit changed on one side only fails here.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

#include "account/customer_service.h"
#include "api/openapi/document.h"
#include "account/customer_settings.h"
#include "security/keys.h"
#include "storage/key.h"

namespace cdn::api {
namespace {

namespace json = boost::json;

const json::value& document() {
    static const json::value doc = json::parse(openapi_document());
    return doc;
}

const json::value& at(const std::string& pointer) {
    return document().at_pointer(pointer);
}

std::int64_t integer_at(const std::string& pointer) {
    return at(pointer).as_int64();
}

/** Both forms of a setting: as read (CustomerSettings) and as written (SettingsPatch). */
const std::vector<std::string> SETTINGS_SCHEMAS = {"/components/schemas/CustomerSettings",
                                                   "/components/schemas/SettingsPatch"};

bool patch_accepted(const std::string& name, const json::value& value) {
    return account::patch_settings({}, json::serialize(json::object{{name, value}})).has_value();
}

/** The document's minimum and maximum of the integer setting `name` (the same in both
 *  schemas) are what patch_settings accepts, and one past each is refused. */
void expect_setting_range(const std::string& name) {
    for (const auto& schema : SETTINGS_SCHEMAS) {
        const auto property = schema + "/properties/" + name;
        const auto min = integer_at(property + "/minimum");
        const auto max = integer_at(property + "/maximum");
        SCOPED_TRACE(property);
        EXPECT_TRUE(patch_accepted(name, min));
        EXPECT_TRUE(patch_accepted(name, max));
        EXPECT_FALSE(patch_accepted(name, min - 1));
        EXPECT_FALSE(patch_accepted(name, max + 1));
    }
}

TEST(OpenApiLimits, DefaultQualityRangeIsTheSettingsParsers) {
    expect_setting_range("default_quality");
}

TEST(OpenApiLimits, CacheTtlRangeIsTheSettingsParsers) {
    expect_setting_range("cache_ttl_seconds");
    EXPECT_EQ(
        integer_at("/components/schemas/CustomerSettings/properties/cache_ttl_seconds/maximum"),
        account::MAX_CACHE_TTL_SECONDS);
}

TEST(OpenApiLimits, DomainListSizesAreTheServers) {
    for (const auto& schema : SETTINGS_SCHEMAS) {
        EXPECT_EQ(integer_at(schema + "/properties/allowed_domains/maxItems"),
                  account::MAX_ALLOWED_DOMAINS)
            << schema;
        EXPECT_EQ(integer_at(schema + "/properties/custom_domains/maxItems"),
                  account::MAX_CUSTOM_DOMAINS)
            << schema;
    }
}

TEST(OpenApiLimits, DefaultFormatsAreExactlyTheOnesTheSettingsParserAccepts) {
    for (const auto& schema : SETTINGS_SCHEMAS) {
        std::set<std::string> documented;
        for (const auto& value : at(schema + "/properties/default_format/enum").as_array()) {
            if (value.is_string()) {
                documented.emplace(value.as_string());
                EXPECT_TRUE(patch_accepted("default_format", value)) << schema << " " << value;
            }
        }
        // Every format name delivery knows: the ones the settings take are the documented ones.
        for (const std::string name : {"auto", "jpeg", "jpg", "png", "webp", "avif", "gif", "json",
                                       "heic", "heif", "jxl", "tiff", "svg", "original", ""}) {
            EXPECT_EQ(patch_accepted("default_format", json::string(name)),
                      documented.contains(name))
                << schema << " " << name;
        }
    }
}

/** Every presets/{name} operation's `name` parameter schema. */
std::vector<const json::object*> preset_name_schemas() {
    std::vector<const json::object*> schemas;
    for (const auto& [method, operation] : at("/paths/~1api~1v1~1presets~1{name}").as_object()) {
        for (const auto& parameter : operation.at("parameters").as_array()) {
            if (parameter.at("name") == "name") {
                schemas.push_back(&parameter.at("schema").as_object());
            }
        }
    }
    return schemas;
}

TEST(OpenApiLimits, PresetNameRulesAreTheServers) {
    const auto schemas = preset_name_schemas();
    ASSERT_FALSE(schemas.empty());
    for (const auto* schema : schemas) {
        const auto min = static_cast<std::size_t>(schema->at("minLength").as_int64());
        const auto max = static_cast<std::size_t>(schema->at("maxLength").as_int64());
        EXPECT_EQ(schema->at("pattern"), "^[A-Za-z0-9_-]+$");
        EXPECT_TRUE(account::validate_preset_name(std::string(min, 'a')));
        EXPECT_TRUE(account::validate_preset_name(std::string(max, 'a')));
        EXPECT_TRUE(account::validate_preset_name("AZaz09_-"));
        EXPECT_FALSE(account::validate_preset_name(std::string(min - 1, 'a')));
        EXPECT_FALSE(account::validate_preset_name(std::string(max + 1, 'a')));
        for (const std::string outside : {"a.b", "a b", "a/b", "é", "a:b"}) {
            EXPECT_FALSE(account::validate_preset_name(outside)) << outside;
        }
    }
}

TEST(OpenApiLimits, PresetOptionsLengthIsTheServers) {
    const auto options = "/paths/~1api~1v1~1presets~1{name}/put/requestBody/content/"
                         "application~1json/schema/properties/options";
    EXPECT_EQ(integer_at(std::string(options) + "/minLength"), 1);
    EXPECT_EQ(integer_at(std::string(options) + "/maxLength"), account::MAX_PRESET_OPTIONS_BYTES);
}

TEST(OpenApiLimits, ImagePathLengthIsWhatTheStoresKeyLimitLeaves) {
    // The store's key is `{public_key}/{path}`, at most storage::MAX_KEY_BYTES.
    const auto longest = storage::MAX_KEY_BYTES - security::generate_public_key().size() - 1;
    for (const std::string method : {"put", "get", "delete"}) {
        const auto schema = "/paths/~1api~1v1~1images~1{path}/" + method + "/parameters/0/schema";
        EXPECT_EQ(integer_at(schema + "/maxLength"), longest) << method;
    }
    EXPECT_EQ(integer_at("/paths/~1api~1v1~1images~1upload-url/post/requestBody/content/"
                         "application~1json/schema/properties/path/maxLength"),
              longest);
}

} // namespace
} // namespace cdn::api
