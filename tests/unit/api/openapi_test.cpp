// The published OpenAPI document (src/api/openapi.yaml, embedded as api::openapi_document())
// against the router's route table:
// every route carries the operationId of its operation in the document, on the same method and
// path and with the security its access needs, and every documented operation is a route; and
// the document is well-formed (every $ref resolves, every path parameter is declared, every
// error answer is the error schema).
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/api.h"
#include "api/common/authenticator.h"
#include "api/openapi/document.h"
#include "billing/bandwidth_quota.h"
#include "account/plan.h"
#include "core/clock.h"
#include "core/strings.h"
#include "db/migrations.h"
#include "db/sqlite_database.h"
#include "db/usage_repository.h"
#include "kv/memory_kv_store.h"
#include "storage/local_blob_store.h"
#include "temp_dir.h"
#include "transform/limits.h"
#include "usage/usage_recorder.h"

namespace cdn::api {
namespace {

namespace json = boost::json;

using Operation = std::pair<std::string, std::string>; // (lower-case method, path template)

/** The router's pattern as OpenAPI writes it: `{path*}` (the rest of the path) is `{path}`. */
std::string openapi_path(std::string pattern) {
    for (auto at = pattern.find("*}"); at != std::string::npos; at = pattern.find("*}")) {
        pattern.erase(at, 1);
    }
    return pattern;
}

/** The security schemes an operation must list for a route of this access. */
std::set<std::string> schemes_for(Access access) {
    switch (access) {
    case Access::Public:
        return {};
    case Access::Internal:
        return {"internalSecret"};
    case Access::Customer:
        return {"apiKeyAuth", "bearerAuth"};
    }
    return {};
}

/** An operation of the document as a route would carry it. */
struct DocumentedOperation {
    std::string method; // lower case
    std::string path;
    std::set<std::string> schemes;
};

/** The document's operations by operationId; a repeated id is reported in `duplicates`. */
std::map<std::string, DocumentedOperation> operations_by_id(const json::object& paths,
                                                            std::vector<std::string>& duplicates) {
    static const std::set<std::string> methods{"get", "put", "post", "delete", "patch",
                                               "head", "options", "trace"};
    std::map<std::string, DocumentedOperation> out;
    for (const auto& [path, item] : paths) {
        for (const auto& [method, operation] : item.as_object()) {
            const auto* id = operation.as_object().if_contains("operationId");
            if (!methods.contains(std::string(method)) || id == nullptr || !id->is_string()) {
                continue;
            }
            DocumentedOperation documented{.method = std::string(method),
                                           .path = std::string(path),
                                           .schemes = {}};
            if (const auto* security = operation.as_object().if_contains("security")) {
                for (const auto& requirement : security->as_array()) {
                    for (const auto& [name, scopes] : requirement.as_object()) {
                        documented.schemes.emplace(name);
                    }
                }
            }
            if (!out.emplace(std::string(id->as_string()), std::move(documented)).second) {
                duplicates.emplace_back(id->as_string());
            }
        }
    }
    return out;
}

/**
 * Router ⇄ document by operationId, one line per disagreement: a route without an operationId
 * or with one the document lacks, on another method or path than the document's operation, or
 * with other security than its access needs; two routes with one id; a documented operation
 * without a route. Empty when they agree.
 */
std::vector<std::string> route_mismatches(const std::vector<Route>& routes,
                                          const json::object& paths) {
    std::vector<std::string> out;
    auto documented = operations_by_id(paths, out);
    for (auto& id : out) {
        id = "operationId " + id + " is used by two operations of the document";
    }
    std::set<std::string> routed;
    for (const auto& route : routes) {
        const auto method = core::to_lower(route.method);
        const auto path = openapi_path(route.pattern);
        const auto where = route.method + " " + route.pattern + " (" + route.operation_id + ")";
        const auto found = documented.find(route.operation_id);
        if (!routed.insert(route.operation_id).second) {
            out.push_back(where + ": another route has this operationId");
        } else if (found == documented.end()) {
            out.push_back(where + ": no operation of the document has this operationId");
        } else if (found->second.method != method || found->second.path != path) {
            out.push_back(where + ": the document has it on " + found->second.method + " " +
                          found->second.path);
        } else if (found->second.schemes != schemes_for(route.access)) {
            out.push_back(where + ": the document's security differs from the route's access");
        }
    }
    for (const auto& [id, operation] : documented) {
        if (!routed.contains(id)) {
            out.push_back(operation.method + " " + operation.path + " (" + id +
                          "): documented, but no route has this operationId");
        }
    }
    return out;
}

std::string lines(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += "\n  " + item;
    }
    return out;
}

/** Everything api::add_routes needs, over a real SQLite database in a temp dir. */
class OpenApiTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new test::TempDir();
        auto db = db::SqliteDatabase::open(dir_->path() + "/test.db");
        ASSERT_TRUE(db) << db.error().detail;
        db_ = db->release();
        ASSERT_TRUE(db::migrate(*db_));
        auto store = storage::LocalBlobStore::create(dir_->fs_path() / "originals");
        ASSERT_TRUE(store) << store.error().detail;
        store_ = store->release();
        kv_ = new kv::MemoryKvStore(clock_);
        plans_ = new account::PlanTable(account::default_plans());
        recorder_ = new usage::UsageRecorder(*db_, clock_, std::chrono::milliseconds(60'000));
        usage_repository_ = new db::UsageRepository(*db_);
        quota_ = new billing::BandwidthQuota(*usage_repository_, *recorder_, clock_);
        pool_ = new boost::asio::thread_pool(2);
        stripe_ = new billing::StripeClient({});
        authenticator_ = new Authenticator(*db_, "jwt-secret-for-tests-0123456789abcdef", clock_);
        router_ = new ApiRouter(*authenticator_, "internal-secret-for-tests", *pool_);
        deps_ = new ApiDeps{
            .db = *db_,
            .store = *store_,
            .kv = *kv_,
            .plans = *plans_,
            .clock = clock_,
            .limits = limits_,
            .usage = *recorder_,
            .quota = *quota_,
            .stripe = *stripe_,
            .config = {.jwt_secret = "jwt-secret-for-tests-0123456789abcdef",
                       .internal_secret = "internal-secret-for-tests",
                       .public_base_url = "http://127.0.0.1:8080"},
        };
        add_routes(*router_, *deps_);

        boost::system::error_code ec;
        document_ = new json::value(json::parse(openapi_document(), ec));
        ASSERT_FALSE(ec) << "the OpenAPI document is not JSON: " << ec.message();
    }

    static void TearDownTestSuite() {
        delete deps_;
        delete router_;
        delete authenticator_;
        if (pool_ != nullptr) {
            pool_->join();
        }
        delete pool_;
        delete quota_;
        delete stripe_;
        delete usage_repository_;
        delete recorder_;
        delete plans_;
        delete kv_;
        delete store_;
        delete db_;
        delete document_;
        delete dir_;
    }

    static const json::object& doc() { return document_->as_object(); }
    static const json::object& paths() { return doc().at("paths").as_object(); }

    static std::set<Operation> router_operations() {
        std::set<Operation> out;
        for (const auto& route : router_->routes()) {
            out.emplace(core::to_lower(route.method), openapi_path(route.pattern));
        }
        return out;
    }

    static std::set<Operation> document_operations() {
        static const std::set<std::string> methods{"get", "put", "post", "delete", "patch",
                                                   "head", "options", "trace"};
        std::set<Operation> out;
        for (const auto& [path, item] : paths()) {
            for (const auto& [method, operation] : item.as_object()) {
                if (methods.contains(std::string(method))) {
                    out.emplace(std::string(method), std::string(path));
                }
            }
        }
        return out;
    }

    /** The object a local `$ref` ("#/components/...") points at; nullptr when none. */
    static const json::value* resolve(std::string_view ref) {
        if (!ref.starts_with("#/")) {
            return nullptr;
        }
        const json::value* at = document_;
        for (const auto part : core::split(ref.substr(2), '/')) {
            if (!at->is_object()) {
                return nullptr;
            }
            at = at->as_object().if_contains(part);
            if (at == nullptr) {
                return nullptr;
            }
        }
        return at;
    }

    /** `value` with its `$ref` followed (once, as the document uses them). */
    static const json::value& deref(const json::value& value) {
        if (value.is_object()) {
            if (const auto* ref = value.as_object().if_contains("$ref"); ref && ref->is_string()) {
                if (const auto* target = resolve(ref->as_string())) {
                    return *target;
                }
            }
        }
        return value;
    }

    static inline core::SystemClock clock_;
    static inline transform::Limits limits_;
    static inline test::TempDir* dir_ = nullptr;
    static inline db::Database* db_ = nullptr;
    static inline storage::BlobStore* store_ = nullptr;
    static inline kv::MemoryKvStore* kv_ = nullptr;
    static inline account::PlanTable* plans_ = nullptr;
    static inline usage::UsageRecorder* recorder_ = nullptr;
    static inline db::UsageRepository* usage_repository_ = nullptr;
    static inline billing::BandwidthQuota* quota_ = nullptr;
    static inline billing::StripeClient* stripe_ = nullptr;
    static inline boost::asio::thread_pool* pool_ = nullptr;
    static inline Authenticator* authenticator_ = nullptr;
    static inline ApiRouter* router_ = nullptr;
    static inline ApiDeps* deps_ = nullptr;
    static inline json::value* document_ = nullptr;
};

std::string list(const std::vector<Operation>& operations) {
    std::string out;
    for (const auto& [method, path] : operations) {
        out += "\n  " + core::to_lower(method) + " " + path;
    }
    return out;
}

TEST_F(OpenApiTest, DocumentIsOpenApi31WithTheErrorSchema) {
    EXPECT_EQ(doc().at("openapi").as_string(), "3.1.0");
    EXPECT_TRUE(doc().at("info").as_object().contains("title"));
    EXPECT_TRUE(doc().at("info").as_object().contains("version"));
    const auto& schemes = doc().at("components").at("securitySchemes").as_object();
    EXPECT_TRUE(schemes.contains("bearerAuth"));
    EXPECT_TRUE(schemes.contains("apiKeyAuth"));
    EXPECT_TRUE(schemes.contains("internalSecret"));
    const auto& error = doc().at("components").at("schemas").at("Error").as_object();
    const auto& inner = error.at("properties").at("error").as_object();
    const auto& props = inner.at("properties").as_object();
    EXPECT_TRUE(props.contains("code"));
    EXPECT_TRUE(props.contains("message"));
    EXPECT_TRUE(props.contains("field"));
}

TEST_F(OpenApiTest, EveryRouteOfTheServerIsDocumented) {
    const auto documented = document_operations();
    std::vector<Operation> missing;
    for (const auto& op : router_operations()) {
        if (!documented.contains(op)) {
            missing.push_back(op);
        }
    }
    EXPECT_TRUE(missing.empty()) << "routes missing from the OpenAPI document:" << list(missing);
}

TEST_F(OpenApiTest, EveryDocumentedOperationIsARouteOfTheServer) {
    const auto routes = router_operations();
    std::vector<Operation> missing;
    for (const auto& op : document_operations()) {
        if (!routes.contains(op)) {
            missing.push_back(op);
        }
    }
    EXPECT_TRUE(missing.empty()) << "documented operations the server does not have:"
                                 << list(missing);
}

TEST_F(OpenApiTest, SecurityOfEachOperationMatchesTheRoutesAccess) {
    for (const auto& route : router_->routes()) {
        const auto* item = paths().if_contains(openapi_path(route.pattern));
        const auto* operation =
            item == nullptr ? nullptr : item->as_object().if_contains(core::to_lower(route.method));
        if (operation == nullptr) {
            continue; // reported by EveryRouteOfTheServerIsDocumented
        }
        const auto* security = operation->as_object().if_contains("security");
        ASSERT_NE(security, nullptr) << route.method << " " << route.pattern;
        std::set<std::string> schemes;
        for (const auto& requirement : security->as_array()) {
            for (const auto& [name, scopes] : requirement.as_object()) {
                schemes.emplace(name);
            }
        }
        EXPECT_EQ(schemes, schemes_for(route.access)) << route.method << " " << route.pattern;
        const auto& responses = operation->at("responses").as_object();
        if (route.access != Access::Public) {
            EXPECT_TRUE(responses.contains("401")) << route.method << " " << route.pattern;
        }
    }
}

TEST_F(OpenApiTest, RoutesAndDocumentedOperationsAgreeByOperationIdMethodPathAndSecurity) {
    ASSERT_FALSE(router_->routes().empty());
    const auto mismatches = route_mismatches(router_->routes(), paths());
    EXPECT_TRUE(mismatches.empty()) << "router and OpenAPI document disagree:" << lines(mismatches);
}

/** The server's routes with `change` applied to the one whose operationId is `id`. */
template <class Change>
std::vector<Route> routes_with(const std::vector<Route>& routes, std::string_view id,
                               Change change) {
    auto out = routes;
    const auto it = std::find_if(out.begin(), out.end(),
                                 [id](const Route& route) { return route.operation_id == id; });
    EXPECT_NE(it, out.end()) << id;
    if (it != out.end()) {
        change(out, it);
    }
    return out;
}

TEST_F(OpenApiTest, TheRouterDocumentCheckFailsOnEachKindOfDrift) {
    const auto& routes = router_->routes();
    const auto only = [](const std::vector<std::string>& mismatches, std::string_view part) {
        return mismatches.size() == 1 && mismatches.front().find(part) != std::string::npos;
    };
    using It = std::vector<Route>::iterator;
    const auto unknown_id = route_mismatches(
        routes_with(routes, "getImage", [](auto&, It r) { r->operation_id = "fetchImage"; }),
        paths());
    // The renamed route is unknown, and the operation it had is left without a route.
    EXPECT_EQ(unknown_id.size(), 2u) << lines(unknown_id);
    const auto other_method = route_mismatches(
        routes_with(routes, "deleteKey", [](auto&, It r) { r->method = "POST"; }), paths());
    EXPECT_TRUE(only(other_method, "the document has it on delete /api/v1/keys/{id}"))
        << lines(other_method);
    const auto other_path = route_mismatches(
        routes_with(routes, "getQuota", [](auto&, It r) { r->pattern = "/api/v1/quota"; }),
        paths());
    EXPECT_TRUE(only(other_path, "the document has it on get /api/v1/usage/quota"))
        << lines(other_path);
    const auto other_access = route_mismatches(
        routes_with(routes, "listPlans", [](auto&, It r) { r->access = Access::Customer; }),
        paths());
    EXPECT_TRUE(only(other_access, "security")) << lines(other_access);
    const auto no_route = route_mismatches(
        routes_with(routes, "internalPurge", [](auto& all, It r) { all.erase(r); }), paths());
    EXPECT_TRUE(only(no_route, "(internalPurge): documented, but no route")) << lines(no_route);
}

TEST_F(OpenApiTest, EveryOperationHasASuccessAndErrorsInTheErrorSchema) {
    const auto* error_schema = resolve("#/components/schemas/Error");
    ASSERT_NE(error_schema, nullptr);
    for (const auto& [path, item] : paths()) {
        for (const auto& [method, operation] : item.as_object()) {
            const auto where = std::string(method) + " " + std::string(path);
            EXPECT_TRUE(operation.as_object().contains("operationId")) << where;
            bool success = false;
            for (const auto& [status, response] : operation.at("responses").as_object()) {
                ASSERT_EQ(status.size(), 3u) << where;
                if (status.starts_with("2")) {
                    success = true;
                    continue;
                }
                const auto& resolved = deref(response).as_object();
                const auto& schema = resolved.at("content")
                                         .at("application/json")
                                         .at("schema");
                EXPECT_EQ(&deref(schema), error_schema) << where << " " << status;
            }
            EXPECT_TRUE(success) << where << " has no 2xx response";
        }
    }
}

TEST_F(OpenApiTest, PathParametersMatchTheTemplates) {
    for (const auto& [path, item] : paths()) {
        std::set<std::string> in_template;
        for (const auto part : core::split(path, '/')) {
            if (part.size() > 2 && part.front() == '{' && part.back() == '}') {
                in_template.emplace(part.substr(1, part.size() - 2));
            }
        }
        for (const auto& [method, operation] : item.as_object()) {
            std::set<std::string> declared;
            if (const auto* params = operation.as_object().if_contains("parameters")) {
                for (const auto& param : params->as_array()) {
                    const auto& p = deref(param).as_object();
                    if (p.at("in").as_string() == "path") {
                        EXPECT_TRUE(p.at("required").as_bool()) << path;
                        declared.emplace(p.at("name").as_string());
                    }
                }
            }
            EXPECT_EQ(declared, in_template) << method << " " << path;
        }
    }
}

/** Every "$ref" anywhere under `value`. */
void collect_refs(const json::value& value, std::vector<std::string>& refs) {
    if (value.is_object()) {
        for (const auto& [key, member] : value.as_object()) {
            if (key == "$ref" && member.is_string()) {
                refs.emplace_back(member.as_string());
            } else {
                collect_refs(member, refs);
            }
        }
    } else if (value.is_array()) {
        for (const auto& element : value.as_array()) {
            collect_refs(element, refs);
        }
    }
}

TEST_F(OpenApiTest, EveryReferenceResolves) {
    std::vector<std::string> refs;
    collect_refs(*document_, refs);
    EXPECT_FALSE(refs.empty());
    for (const auto& ref : refs) {
        EXPECT_NE(resolve(ref), nullptr) << ref;
    }
}

TEST_F(OpenApiTest, TheDocumentIsServedAsIs) {
    http::Request request;
    request.method = "GET";
    request.target = "/api/v1/openapi.json";
    request.path = "/api/v1/openapi.json";
    const auto res = router_->dispatch(request);
    EXPECT_EQ(res.status, 200u);
    ASSERT_NE(res.body, nullptr);
    EXPECT_EQ(*res.body, openapi_document());
    const auto type = std::find_if(res.headers.begin(), res.headers.end(),
                                   [](const auto& h) { return h.first == "Content-Type"; });
    ASSERT_NE(type, res.headers.end());
    EXPECT_EQ(type->second, "application/json");
}

} // namespace
} // namespace cdn::api
