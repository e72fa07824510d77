// JsonBody, the reader every JSON route starts with: the body parsed once, held to the members
// the route declares, each typed read a 422 naming its field.
#include "api/common/json.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace cdn::api {
namespace {

/** A POST of `body` with `content_type`; the views point into the caller's strings. */
http::Request post(const std::string& body, std::string_view content_type = "application/json") {
    http::Request out;
    out.method = "POST";
    out.path = "/api/v1/things";
    out.target = out.path;
    out.headers = {{"Content-Type", content_type}};
    out.body = body;
    return out;
}

/** The error of a failed read, for the assertions below. */
template <class T>
core::Error error_of(const core::Result<T>& result) {
    EXPECT_FALSE(result);
    return result ? core::Error{} : result.error();
}

TEST(JsonBody, ReadsTheDeclaredMembersWithTheirTypes) {
    const std::string text = R"({"name":"cats","size":12,"public":true})";
    auto body = JsonBody::read(post(text, "application/json; charset=utf-8"),
                               {"name", "size", "public", "note"});
    ASSERT_TRUE(body) << body.error().message;

    EXPECT_EQ(body->string("name", 1, 10).value(), "cats");
    EXPECT_EQ(body->integer("size", 1, 100).value(), 12);
    EXPECT_EQ(body->optional_bool("public").value(), true);
    EXPECT_EQ(body->optional_string("note", 1, 10).value(), std::nullopt);
    EXPECT_EQ(body->optional_integer("missing", 1, 10).value(), std::nullopt);
}

TEST(JsonBody, AMemberTheRouteDoesNotDeclareIs422NamingIt) {
    const std::string text = R"({"name":"cats","colour":"red"})";
    const auto error = error_of(JsonBody::read(post(text), {"name"}));

    EXPECT_EQ(error.code, core::Errc::InvalidRequest);
    EXPECT_EQ(error.field, "colour");
    EXPECT_EQ(error.message, "colour: is not a known field");
}

TEST(JsonBody, TheBodyIsCheckedBeforeItsMembers) {
    const std::string text = R"({"name":"cats"})";
    EXPECT_EQ(error_of(JsonBody::read(post(text, "text/plain"), {"name"})).code,
              core::Errc::UnsupportedMediaType);
    EXPECT_EQ(error_of(JsonBody::read(post(text), {"name"}, {.max_bytes = 5})).code,
              core::Errc::PayloadTooLarge);
    const std::string list = "[1, 2]";
    EXPECT_EQ(error_of(JsonBody::read(post(list), {"name"})).code, core::Errc::InvalidJson);
    const std::string empty;
    EXPECT_EQ(error_of(JsonBody::read(post(empty), {"name"})).code, core::Errc::InvalidJson);
    auto allowed = JsonBody::read(post(empty, ""), {"name"}, {.allow_empty = true});
    ASSERT_TRUE(allowed);
    EXPECT_TRUE(allowed->object().empty());
}

TEST(JsonBody, EachTypedReadNamesItsFieldWithTheRoutesCode) {
    const std::string text = R"({"name":"","size":1000,"flag":"yes","options":7})";
    auto body = JsonBody::read(post(text), {"name", "size", "flag", "options", "absent"},
                               {.code = core::Errc::InvalidPreset});
    ASSERT_TRUE(body);

    const auto name = error_of(body->string("name", 1, 10));
    EXPECT_EQ(name.code, core::Errc::InvalidPreset);
    EXPECT_EQ(name.field, "name");
    EXPECT_EQ(name.message, "name: must be a string of 1 to 10 bytes");
    EXPECT_EQ(error_of(body->integer("size", 1, 100)).message,
              "size: must be an integer from 1 to 100");
    EXPECT_EQ(error_of(body->optional_bool("flag")).message, "flag: must be true or false");
    EXPECT_EQ(error_of(body->optional_string("options", 0, 10)).field, "options");
    EXPECT_EQ(error_of(body->integer("absent", 1, 2)).message, "absent: is required");
}

TEST(JsonBody, InvalidFieldIsA422NamingTheField) {
    const auto error = invalid_field("content_type", "not an image type",
                                     core::Errc::UnsupportedMediaType);
    EXPECT_EQ(error.code, core::Errc::UnsupportedMediaType);
    EXPECT_EQ(error.field, "content_type");
    EXPECT_EQ(error.message, "content_type: not an image type");
    EXPECT_EQ(invalid_field("plan", "unknown").code, core::Errc::InvalidRequest);
}

TEST(RetryLater, IsTheErrorAnswerWithRetryAfter) {
    const auto res = retry_later(core::make_error(core::Errc::RateLimited, "slow down"), 17);
    EXPECT_EQ(res.status, 429u);
    ASSERT_NE(res.body, nullptr);
    EXPECT_EQ(*res.body, R"({"error":{"code":"rate_limited","message":"slow down"}})");
    const auto retry = std::find_if(res.headers.begin(), res.headers.end(),
                                    [](const auto& h) { return h.first == "Retry-After"; });
    ASSERT_NE(retry, res.headers.end());
    EXPECT_EQ(retry->second, "17");
}

} // namespace
} // namespace cdn::api
