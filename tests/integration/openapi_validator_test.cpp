// The check every integration test's /api/ and /internal/ answer goes through
// (tests/support/openapi_validator.h), on answers made up here: what it must report, and what
// it must let through.
#include <gtest/gtest.h>

#include <string>

#include "openapi_validator.h"
#include "raw_http.h"

namespace cdn::test {
namespace {

RawResponse json_answer(int status, std::string body) {
    RawResponse res;
    res.status = status;
    res.headers.emplace("content-type", "application/json");
    res.body = std::move(body);
    return res;
}

const std::string ERROR_BODY = R"({"error":{"code":"not_found","message":"no such key"}})";

TEST(OpenApiValidator, AnAnswerAsDocumentedPasses) {
    EXPECT_EQ(openapi_violation("GET", "/api/v1/keys?limit=5",
                                json_answer(200, R"({"items":[],"next_cursor":null})")),
              "");
    EXPECT_EQ(openapi_violation("DELETE", "/api/v1/keys/key_1", json_answer(404, ERROR_BODY)), "");
    RawResponse deleted;
    deleted.status = 204;
    EXPECT_EQ(openapi_violation("DELETE", "/api/v1/keys/key_1", deleted), "");
}

TEST(OpenApiValidator, ABodyOutsideTheSchemaIsReportedWithRouteStatusAndError) {
    const auto violation =
        openapi_violation("GET", "/api/v1/keys", json_answer(200, R"({"items":"none"})"));
    EXPECT_NE(violation.find("GET /api/v1/keys -> 200"), std::string::npos) << violation;
    EXPECT_NE(violation.find("[items]"), std::string::npos) << violation;
    EXPECT_NE(openapi_violation("GET", "/api/v1/keys", json_answer(200, "not json")), "");
}

TEST(OpenApiValidator, AStatusTheOperationDoesNotDeclareIsReported) {
    const auto violation = openapi_violation("GET", "/api/v1/customer", json_answer(418, ERROR_BODY));
    EXPECT_NE(violation.find("status 418 is not declared"), std::string::npos) << violation;
}

TEST(OpenApiValidator, APathParameterNamedPathTakesTheRestOfThePath) {
    EXPECT_EQ(openapi_violation("GET", "/api/v1/images/a/b/c.png", json_answer(404, ERROR_BODY)),
              "");
    // A literal path wins over a template: upload-url is not an image called "upload-url"
    // (the template has no POST, so a 404 error would pass there; upload-url declares no 404).
    const auto literal =
        openapi_violation("POST", "/api/v1/images/upload-url", json_answer(404, ERROR_BODY));
    EXPECT_NE(literal.find("status 404 is not declared"), std::string::npos) << literal;
}

TEST(OpenApiValidator, UnknownPathsAnswerTheErrorSchemaAndOtherTargetsAreNotChecked) {
    EXPECT_EQ(openapi_violation("GET", "/api/v1/nothing", json_answer(404, ERROR_BODY)), "");
    EXPECT_NE(openapi_violation("GET", "/api/v1/nothing", json_answer(404, R"({"ok":true})")), "");
    EXPECT_EQ(openapi_violation("GET", "/pk/logo.png", json_answer(200, R"({"ok":true})")), "");
}

TEST(OpenApiValidator, AnEdgeNodeAnswersApiPathsAsUnknown) {
    const WithoutApiRoutes edge_node;
    EXPECT_EQ(openapi_violation("GET", "/api/v1/customer", json_answer(404, ERROR_BODY)), "");
}

} // namespace
} // namespace cdn::test
