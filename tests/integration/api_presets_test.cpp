// Management API, presets (api.md): list, put, delete against the real binary; options are
// validated exactly as delivery options and the edge uses a change at once.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "fixtures.h"
#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;


bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class ApiPresetsTest : public ::testing::Test {
protected:
    Account add_customer(const std::string& email, const std::string& plan = "pro") {
        auto account = create_account(dir_.path(), email, plan);
        put_original(dir_.path(), account.public_key, "photo.jpg", sample_jpeg());
        return account;
    }

    void start() {
        server_ = std::make_unique<ServerProcess>(dir_.path());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    RawResponse call(const std::string& method, const std::string& target, const Account& as,
                     const std::string& body = {}, Headers headers = {}) {
        return api_call(server_->port(), method, target, as.api_key, body, std::move(headers));
    }

    RawResponse put(const Account& as, const std::string& name, const std::string& options) {
        return call("PUT", "/api/v1/presets/" + name, as, R"({"options":")" + options + "\"}");
    }

    RawResponse get(const std::string& target) {
        auto res = http_request(server_->port(), "GET", target);
        EXPECT_TRUE(res) << target;
        return res ? *res : RawResponse{};
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(ApiPresetsTest, CrudAndTheEdgeUsesEachChangeAtOnce) {
    const auto account = add_customer("presets@example.com");
    start();
    const auto thumb = "/" + account.public_key + "/photo.jpg?preset=thumb&format=json";

    auto listed = call("GET", "/api/v1/presets", account);
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_TRUE(contains(listed.body, R"("items":[])")) << listed.body;
    const auto unknown = get(thumb);
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(error_code(unknown), "unknown_preset");

    // Created: 201 with the preset.
    const auto created = put(account, "thumb", "w=48&h=32&fit=cover");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(json_string(created.body, "name"), "thumb");
    EXPECT_EQ(json_string(created.body, "options"), "w=48&h=32&fit=cover");
    EXPECT_EQ(json_string(created.body, "updated_at").size(), 20u);
    // Within the poll's 5 s, not the 300 s the edge caches a customer for: the change is pushed.
    EXPECT_TRUE(poll_until([&] { return get(thumb).status == 200; }));
    const auto small = get(thumb);
    EXPECT_EQ(small.status, 200) << small.body;
    EXPECT_TRUE(contains(small.body, R"("output":{"width":48,"height":32)")) << small.body;

    listed = call("GET", "/api/v1/presets", account);
    EXPECT_TRUE(contains(listed.body, R"("name":"thumb","options":"w=48&h=32&fit=cover")"))
        << listed.body;

    // Replaced: 200, and the edge uses the new options.
    const auto replaced = put(account, "thumb", "w=64&h=40&fit=cover");
    ASSERT_EQ(replaced.status, 200) << replaced.body;
    poll_until([&] { return contains(get(thumb).body, R"("width":64,"height":40)"); });
    EXPECT_TRUE(contains(get(thumb).body, R"("output":{"width":64,"height":40)"));
    EXPECT_EQ(put(account, "hero", "w=200&format=webp").status, 201);
    listed = call("GET", "/api/v1/presets", account);
    EXPECT_LT(listed.body.find("\"hero\""), listed.body.find("\"thumb\"")) << listed.body;

    // Deleted: 204, the edge no longer knows it, a second delete is 404.
    EXPECT_EQ(call("DELETE", "/api/v1/presets/thumb", account).status, 204);
    poll_until([&] { return get(thumb).status == 400; });
    EXPECT_EQ(error_code(get(thumb)), "unknown_preset");
    const auto again = call("DELETE", "/api/v1/presets/thumb", account);
    EXPECT_EQ(again.status, 404);
    EXPECT_EQ(error_code(again), "not_found");
    listed = call("GET", "/api/v1/presets", account);
    EXPECT_FALSE(contains(listed.body, "thumb"));
    EXPECT_TRUE(contains(listed.body, "hero"));
}

TEST_F(ApiPresetsTest, PresetsOnlyServesThroughPresetsMadeByTheApi) {
    const auto account = add_customer("strict@example.com");
    start();
    ASSERT_EQ(put(account, "card", "w=40&h=40&fit=cover").status, 201);
    const auto patched = call("PATCH", "/api/v1/customer/settings", account,
                              R"({"presets_only":true})");
    ASSERT_EQ(patched.status, 200) << patched.body;
    const auto free_form = "/" + account.public_key + "/photo.jpg?w=10";
    poll_until([&] { return get(free_form).status == 403; });
    EXPECT_EQ(error_code(get(free_form)), "presets_only");
    EXPECT_EQ(get("/" + account.public_key + "/photo.jpg?preset=card").status, 200);
    // imgix's client libraries add ixlib to every URL: ignored, so allowed here too.
    EXPECT_EQ(get("/" + account.public_key + "/photo.jpg?preset=card&ixlib=js-3.8.0").status, 200);
}

TEST_F(ApiPresetsTest, InvalidPresetsAreRefusedNamingTheOption) {
    const auto account = add_customer("typo@example.com");
    start();
    const auto expect_invalid = [&](const std::string& name, const std::string& body,
                                    const std::string& field, const std::string& named) {
        const auto res = call("PUT", "/api/v1/presets/" + name, account, body);
        EXPECT_EQ(res.status, 422) << name << " " << body << " " << res.body;
        EXPECT_EQ(error_code(res), "invalid_preset") << body;
        EXPECT_EQ(error_field(res), field) << body;
        EXPECT_TRUE(contains(json_string(res.body, "message"), named)) << res.body;
    };
    expect_invalid("bad", R"({"options":"w=oops"})", "options", "width");
    expect_invalid("bad", R"({"options":"w=100&fit=sideways"})", "options", "fit");
    expect_invalid("bad", R"({"options":"bogus=1"})", "options", "bogus");
    expect_invalid("bad", R"({"options":"w=99999"})", "options", "width");
    expect_invalid("bad", R"({"options":"preset=other"})", "options", "preset");
    expect_invalid("bad", R"({"options":"v=2"})", "options", "v");
    expect_invalid("bad", R"({"options":""})", "options", "options");
    expect_invalid("bad", R"({"options":42})", "options", "options");
    expect_invalid("bad", R"({})", "options", "options");
    expect_invalid("bad", R"({"options":"w=10","name":"x"})", "name", "name");
    expect_invalid("has%20space", R"({"options":"w=10"})", "name", "name");
    expect_invalid("dot.ted", R"({"options":"w=10"})", "name", "name");
    expect_invalid(std::string(65, 'n'), R"({"options":"w=10"})", "name", "name");

    const auto text = call("PUT", "/api/v1/presets/ok", account, "w=10",
                           {{"Content-Type", "text/plain"}});
    EXPECT_EQ(text.status, 415);
    EXPECT_EQ(call("PUT", "/api/v1/presets/ok", account, "{").status, 400);
    EXPECT_TRUE(contains(call("GET", "/api/v1/presets", account).body, R"("items":[])"));
    EXPECT_EQ(put(account, std::string(64, 'n'), "w=10").status, 201);
}

TEST_F(ApiPresetsTest, PresetsBelongToOneCustomer) {
    const auto alice = add_customer("alice@example.com");
    const auto bob = add_customer("bob@example.com");
    start();
    ASSERT_EQ(put(alice, "thumb", "w=48").status, 201);
    EXPECT_TRUE(contains(call("GET", "/api/v1/presets", bob).body, R"("items":[])"));
    EXPECT_EQ(call("DELETE", "/api/v1/presets/thumb", bob).status, 404);
    EXPECT_EQ(get("/" + bob.public_key + "/photo.jpg?preset=thumb").status, 400);
    EXPECT_EQ(get("/" + alice.public_key + "/photo.jpg?preset=thumb").status, 200);
    // Bob's own preset of the same name is his alone.
    EXPECT_EQ(put(bob, "thumb", "w=20").status, 201);
    EXPECT_TRUE(contains(call("GET", "/api/v1/presets", alice).body, R"("options":"w=48")"));
    EXPECT_EQ(http_request(server_->port(), "GET", "/api/v1/presets")->status, 401);
}

} // namespace
} // namespace cdn::test
