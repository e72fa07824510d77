// Management API, API keys (api.md): list, create, rotate, delete against the real binary.
// Keys are read from the database on every request, so a rotated or deleted key fails on the
// very next one.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "fixtures.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;

/** The value of the first JSON string member `name` at or after `from` ("" when absent). */
std::string json_string(const std::string& json, const std::string& name, std::size_t from = 0) {
    const auto key = "\"" + name + "\":\"";
    const auto at = json.find(key, from);
    if (at == std::string::npos) {
        return {};
    }
    const auto start = at + key.size();
    return json.substr(start, json.find('"', start) - start);
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}


class ApiKeysTest : public ::testing::Test {
protected:
    /** `imagecdn customer create`: its output carries the first API key. */
    Account add_customer(const std::string& email, const std::string& plan = "free") {
        return create_account(dir_.path(), email, plan);
    }

    void start() {
        server_ = std::make_unique<ServerProcess>(dir_.path());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    RawResponse call(const std::string& method, const std::string& target, const std::string& key,
                     const std::string& body = {}, Headers headers = {}) {
        if (!key.empty()) {
            headers.emplace("X-API-Key", key);
        }
        if (!body.empty()) {
            headers.emplace("Content-Type", "application/json");
        }
        auto res = http_request(server_->port(), method, target, headers, body);
        EXPECT_TRUE(res) << method << " " << target;
        return res ? *res : RawResponse{};
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(ApiKeysTest, CreateListRotateDelete) {
    const auto account = add_customer("keys@example.com");
    start();

    // The operator's first key is listed, without any secret.
    auto listed = call("GET", "/api/v1/keys", account.api_key);
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_EQ(count_of(listed.body, "\"id\":"), 1u) << listed.body;
    EXPECT_EQ(json_string(listed.body, "name"), "default");
    EXPECT_EQ(json_string(listed.body, "prefix"), account.api_key.substr(0, 12));
    EXPECT_NE(listed.body.find("\"next_cursor\":null"), std::string::npos) << listed.body;
    EXPECT_EQ(listed.body.find(account.api_key), std::string::npos);
    EXPECT_EQ(listed.header("cache-control"), "no-store");

    // Create: 201 with the secret, shown this once.
    const auto created = call("POST", "/api/v1/keys", account.api_key, R"({"name":"ci deploy"})");
    ASSERT_EQ(created.status, 201) << created.body;
    const auto id = json_string(created.body, "id");
    const auto secret = json_string(created.body, "secret");
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(secret.starts_with("sk_")) << created.body;
    EXPECT_EQ(json_string(created.body, "name"), "ci deploy");
    EXPECT_EQ(json_string(created.body, "prefix"), secret.substr(0, 12));
    EXPECT_EQ(json_string(created.body, "created_at").size(), 20u) << created.body;  // RFC 3339
    EXPECT_EQ(call("GET", "/api/v1/customer", secret).status, 200);

    listed = call("GET", "/api/v1/keys", account.api_key);
    EXPECT_EQ(count_of(listed.body, "\"id\":"), 2u) << listed.body;
    EXPECT_NE(listed.body.find("\"name\":\"ci deploy\""), std::string::npos);
    EXPECT_EQ(listed.body.find("secret"), std::string::npos) << listed.body;
    EXPECT_EQ(listed.body.find("hash"), std::string::npos) << listed.body;
    EXPECT_EQ(listed.body.find(secret), std::string::npos);
    EXPECT_NE(listed.body.find("\"last_used_at\""), std::string::npos);

    // Rotate: same key, new secret; the old secret is dead on the next request.
    const auto rotated = call("POST", "/api/v1/keys/" + id + "/rotate", account.api_key);
    ASSERT_EQ(rotated.status, 200) << rotated.body;
    const auto new_secret = json_string(rotated.body, "secret");
    EXPECT_EQ(json_string(rotated.body, "id"), id);
    EXPECT_EQ(json_string(rotated.body, "name"), "ci deploy");
    ASSERT_TRUE(new_secret.starts_with("sk_"));
    EXPECT_NE(new_secret, secret);
    EXPECT_EQ(json_string(rotated.body, "prefix"), new_secret.substr(0, 12));
    const auto old = call("GET", "/api/v1/customer", secret);
    EXPECT_EQ(old.status, 401);
    EXPECT_EQ(error_code(old), "unauthorized");
    EXPECT_EQ(call("GET", "/api/v1/customer", new_secret).status, 200);

    // Delete: 204, and the key fails on the next request; a second delete is 404.
    EXPECT_EQ(call("DELETE", "/api/v1/keys/" + id, account.api_key).status, 204);
    EXPECT_EQ(call("GET", "/api/v1/customer", new_secret).status, 401);
    const auto again = call("DELETE", "/api/v1/keys/" + id, account.api_key);
    EXPECT_EQ(again.status, 404);
    EXPECT_EQ(error_code(again), "not_found");
    EXPECT_EQ(call("POST", "/api/v1/keys/" + id + "/rotate", account.api_key).status, 404);
    listed = call("GET", "/api/v1/keys", account.api_key);
    EXPECT_EQ(count_of(listed.body, "\"id\":"), 1u) << listed.body;
}

TEST_F(ApiKeysTest, AKeyCanDeleteItselfAndIsDeadAtOnce) {
    const auto account = add_customer("self@example.com");
    start();
    const auto listed = call("GET", "/api/v1/keys", account.api_key);
    const auto id = json_string(listed.body, "id");
    ASSERT_FALSE(id.empty()) << listed.body;
    EXPECT_EQ(call("DELETE", "/api/v1/keys/" + id, account.api_key).status, 204);
    EXPECT_EQ(call("GET", "/api/v1/keys", account.api_key).status, 401);
}

TEST_F(ApiKeysTest, AnotherCustomersKeyIsNotFound) {
    const auto alice = add_customer("alice@example.com");
    const auto bob = add_customer("bob@example.com");
    start();
    const auto alice_id = json_string(call("GET", "/api/v1/keys", alice.api_key).body, "id");
    ASSERT_FALSE(alice_id.empty());

    const auto removed = call("DELETE", "/api/v1/keys/" + alice_id, bob.api_key);
    EXPECT_EQ(removed.status, 404);
    EXPECT_EQ(error_code(removed), "not_found");
    const auto rotated = call("POST", "/api/v1/keys/" + alice_id + "/rotate", bob.api_key);
    EXPECT_EQ(rotated.status, 404);
    EXPECT_EQ(rotated.body.find("secret"), std::string::npos);
    EXPECT_EQ(call("DELETE", "/api/v1/keys/key_doesnotexist", bob.api_key).status, 404);

    // Alice's key is untouched, and Bob's list shows only Bob's key.
    EXPECT_EQ(call("GET", "/api/v1/keys", alice.api_key).status, 200);
    const auto bobs = call("GET", "/api/v1/keys", bob.api_key);
    EXPECT_EQ(count_of(bobs.body, "\"id\":"), 1u);
    EXPECT_EQ(bobs.body.find(alice_id), std::string::npos);
}

TEST_F(ApiKeysTest, BadRequestsAndCredentialsAreRefused) {
    const auto account = add_customer("strict@example.com");
    start();
    const auto expect_invalid = [&](const std::string& body, const std::string& field) {
        const auto res = call("POST", "/api/v1/keys", account.api_key, body);
        EXPECT_EQ(res.status, 422) << body << " " << res.body;
        EXPECT_EQ(error_code(res), "invalid_request") << body;
        EXPECT_EQ(error_field(res), field) << body;
    };
    expect_invalid("{}", "name");
    expect_invalid(R"({"name":""})", "name");
    expect_invalid(R"({"name":42})", "name");
    expect_invalid(R"({"name":")" + std::string(101, 'x') + "\"}", "name");
    expect_invalid(R"({"name":"tab\there"})", "name");
    expect_invalid(R"({"name":"ok","admin":true})", "admin");
    EXPECT_EQ(call("POST", "/api/v1/keys", account.api_key, R"({"name":")" + std::string(100, 'x') + "\"}")
                  .status,
              201);

    const auto text = call("POST", "/api/v1/keys", account.api_key, "name=x",
                           {{"Content-Type", "text/plain"}});
    EXPECT_EQ(text.status, 415);
    EXPECT_EQ(error_code(text), "unsupported_media_type");
    const auto broken = call("POST", "/api/v1/keys", account.api_key, R"({"name":)");
    EXPECT_EQ(broken.status, 400);
    EXPECT_EQ(error_code(broken), "invalid_json");

    EXPECT_EQ(call("GET", "/api/v1/keys", "").status, 401);
    EXPECT_EQ(call("GET", "/api/v1/keys", "sk_notarealkeynotarealkeynotarealkey00000").status, 401);
    EXPECT_EQ(call("POST", "/api/v1/keys", "", R"({"name":"x"})").status, 401);
    EXPECT_EQ(call("PUT", "/api/v1/keys", account.api_key, R"({"name":"x"})").status, 405);
}

} // namespace
} // namespace cdn::test
