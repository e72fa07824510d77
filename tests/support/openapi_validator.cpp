#include "openapi_validator.h"

#include <boost/json.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include "fixtures.h"

namespace cdn::test {
namespace {

namespace json = boost::json;

constexpr std::string_view ERROR_SCHEMA = "/components/schemas/Error";

thread_local int without_api_routes = 0;

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    for (std::size_t start = 1; start <= path.size();) {
        const auto end = std::min(path.find('/', start), path.size());
        out.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

/** valijson 1.0 applies `format` to every type (a null `last_used_at` fails `date-time`), where
 *  JSON Schema applies it to strings only: `format: F` becomes `if: {type: string}, then:
 *  {format: F}` throughout `schema`. */
void format_for_strings_only(json::value& schema) {
    if (auto* array = schema.if_array()) {
        for (auto& item : *array) {
            format_for_strings_only(item);
        }
        return;
    }
    auto* object = schema.if_object();
    if (!object) {
        return;
    }
    for (auto& [key, value] : *object) {
        format_for_strings_only(value);
    }
    if (const auto* found = object->if_contains("format"); found && found->is_string()) {
        const json::value format = *found; // the inserts below may move the members
        object->erase("format");
        (*object)["if"] = {{"type", "string"}};
        (*object)["then"] = {{"format", format}};
    }
}

bool is_parameter(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

/** How many literal segments of `path_template` match `path`; nullopt when it does not match.
 *  A parameter is one segment, except a last `{path}`, which takes the rest of the path (the
 *  router's `{path*}`). */
std::optional<int> match(std::string_view path_template, std::string_view path) {
    const auto want = segments(path_template);
    const auto have = segments(path);
    int literals = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (i >= have.size() || have[i].empty()) {
            return std::nullopt;
        }
        if (want[i] == "{path}" && i + 1 == want.size()) {
            return literals;
        }
        if (!is_parameter(want[i]) && want[i] != have[i]) {
            return std::nullopt;
        }
        literals += is_parameter(want[i]) ? 0 : 1;
    }
    return have.size() == want.size() ? std::optional(literals) : std::nullopt;
}

std::string escape_pointer_token(std::string_view token) {
    std::string out;
    for (const char c : token) {
        out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

/** The document as the build made it, with each response schema compiled once (valijson). */
class Document {
public:
    static Document& instance() {
        static Document document;
        return document;
    }

    /** The JSON pointer of the operation for `method` and `path`; nullopt when none. */
    std::optional<std::string> operation(std::string_view method, std::string_view path) const {
        std::optional<std::pair<int, std::string>> best;
        for (const auto& [path_template, item] : doc_.at("paths").as_object()) {
            const auto literals = match(path_template, path);
            if (literals && (!best || *literals > best->first)) {
                best = {*literals, std::string(path_template)};
            }
        }
        if (!best || !doc_.at("paths").at(best->second).as_object().contains(lower(method))) {
            return std::nullopt;
        }
        return "/paths/" + escape_pointer_token(best->second) + "/" + lower(method);
    }

    /** The pointer of the response `operation` declares for `status` (exact, `4XX`, `default`),
     *  its $ref followed; nullopt when it declares none. */
    std::optional<std::string> response(const std::string& operation, int status) const {
        const auto& responses = doc_.at_pointer(operation + "/responses").as_object();
        const auto code = std::to_string(status);
        for (const auto& key : {code, code.substr(0, 1) + "XX", std::string("default")}) {
            if (const auto* found = responses.if_contains(key)) {
                if (const auto* ref = found->as_object().if_contains("$ref")) {
                    return std::string(ref->as_string()).substr(1);
                }
                return operation + "/responses/" + key;
            }
        }
        return std::nullopt;
    }

    const json::value* at(const std::string& pointer) const {
        boost::system::error_code ec;
        return doc_.find_pointer(pointer, ec);
    }

    /** valijson's errors for `body` against the schema at `pointer`; empty when it conforms. */
    std::string validate(const std::string& pointer, const json::value& body) {
        const std::lock_guard lock(mutex_);
        auto& schema = schemas_[pointer];
        if (!schema) {
            schema = compile(pointer);
        }
        valijson::ValidationResults results;
        const valijson::adapters::BoostJsonAdapter target(body);
        if (valijson::Validator().validate(*schema, target, &results)) {
            return {};
        }
        std::string errors;
        valijson::ValidationResults::Error error;
        while (results.popError(error)) {
            std::string where;
            for (const auto& part : error.context) {
                where += part;
            }
            errors += "\n  " + where + ": " + error.description;
        }
        return errors;
    }

private:
    Document() {
        const auto text = read_file(OPENAPI_JSON_PATH);
        if (text.empty()) {
            throw std::runtime_error("cannot read the OpenAPI document " OPENAPI_JSON_PATH);
        }
        doc_ = json::parse(text);
    }

    /** The schema at `pointer`, its $refs resolved against the whole document: the root is the
     *  document with a `$ref` to that schema. */
    std::unique_ptr<valijson::Schema> compile(const std::string& pointer) const {
        json::value root = doc_;
        format_for_strings_only(root);
        root.as_object()["$ref"] = "#" + pointer;
        auto schema = std::make_unique<valijson::Schema>();
        valijson::SchemaParser(valijson::SchemaParser::kDraft7)
            .populateSchema(valijson::adapters::BoostJsonAdapter(root), *schema);
        return schema;
    }

    json::value doc_;
    std::mutex mutex_;
    std::map<std::string, std::unique_ptr<valijson::Schema>> schemas_;
};

bool is_json(const RawResponse& res) {
    const auto type = res.header("content-type");
    return type && type->starts_with("application/json");
}

/** The body against the schema at `schema_pointer`; `route` names the answer in the message. */
std::string check_body(const std::string& route, const std::string& schema_pointer,
                       const RawResponse& res) {
    boost::system::error_code ec;
    const auto body = json::parse(res.body, ec);
    if (ec) {
        return route + ": the body is not JSON: " + res.body.substr(0, 200);
    }
    const auto errors = Document::instance().validate(schema_pointer, body);
    if (errors.empty()) {
        return {};
    }
    return route + ": the body does not match " + schema_pointer + ":" + errors +
           "\n  body: " + res.body.substr(0, 500);
}

/** The answer against the response `operation` declares for its status. */
std::string check_declared(const std::string& route, const std::string& operation,
                           const RawResponse& res) {
    auto& document = Document::instance();
    const auto response = document.response(operation, res.status);
    if (!response) {
        return route + ": status " + std::to_string(res.status) +
               " is not declared by the document's " + operation;
    }
    const auto json_schema = *response + "/content/application~1json/schema";
    if (!is_json(res)) {
        return {};
    }
    if (!document.at(json_schema)) {
        return route + ": a JSON answer where the document's " + *response +
               " declares no JSON body: " + res.body.substr(0, 200);
    }
    return check_body(route, json_schema, res);
}

} // namespace

std::string openapi_violation(std::string_view method, std::string_view target,
                              const RawResponse& res) {
    const auto path = target.substr(0, target.find('?'));
    if (!path.starts_with("/api/") && !path.starts_with("/internal/")) {
        return {};
    }
    const auto route = std::string(method) + " " + std::string(path) + " -> " +
                       std::to_string(res.status);
    const auto operation = without_api_routes > 0 ? std::nullopt
                                                  : Document::instance().operation(method, path);
    if (operation) {
        return check_declared(route, *operation, res);
    }
    // No such operation: the router's 404 or 405, which must still be the error schema.
    return is_json(res) && !res.body.empty() ? check_body(route, std::string(ERROR_SCHEMA), res)
                                             : std::string();
}

WithoutApiRoutes::WithoutApiRoutes() { ++without_api_routes; }

WithoutApiRoutes::~WithoutApiRoutes() { --without_api_routes; }

} // namespace cdn::test
