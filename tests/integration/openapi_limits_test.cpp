// The sign-up limits the served OpenAPI document states are the ones the server enforces: the
// password's minLength and the email's maxLength, read from GET /api/v1/openapi.json, are
// accepted at the bound and refused one past it. (The other shared limits are checked in
// tests/unit/api/openapi_limits_test.cpp; these two live in the auth handlers.)
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstddef>
#include <memory>
#include <string>

#include "fixtures.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

namespace json = boost::json;

class OpenApiSignupLimits : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<ServerProcess>(dir_.path());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
        const auto served = http_request(server_->port(), "GET", "/api/v1/openapi.json");
        ASSERT_TRUE(served && served->status == 200);
        credentials_ = json::parse(served->body).at_pointer("/components/schemas/Credentials");
    }

    std::size_t bound(const std::string& pointer) const {
        return static_cast<std::size_t>(credentials_.at_pointer(pointer).as_int64());
    }

    RawResponse signup(const std::string& email, const std::string& password) {
        const auto body = json::serialize(json::object{{"email", email}, {"password", password}});
        return http_request(server_->port(), "POST", "/api/v1/auth/signup",
                            {{"Content-Type", "application/json"}}, body)
            .value_or(RawResponse{});
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
    json::value credentials_;
};

TEST_F(OpenApiSignupLimits, PasswordMinLengthIsTheServers) {
    const auto min = bound("/properties/password/minLength");
    const auto shorter = signup("short@example.com", std::string(min - 1, 'p'));
    EXPECT_EQ(shorter.status, 422) << shorter.body;
    EXPECT_EQ(error_field(shorter), "password");
    EXPECT_EQ(signup("exact@example.com", std::string(min, 'p')).status, 201);
}

TEST_F(OpenApiSignupLimits, EmailMaxLengthIsTheServers) {
    const auto max = bound("/properties/email/maxLength");
    // A valid address of exactly `max` bytes: a 64-byte local part and 63-byte labels.
    const auto address = [](std::size_t length) {
        std::string email = std::string(64, 'u') + "@";
        while (email.size() + 64 < length) {
            email += std::string(63, 'd') + ".";
        }
        return email + std::string(length - email.size() - 4, 'e') + ".com";
    };
    const auto longest = address(max);
    ASSERT_EQ(longest.size(), max);
    EXPECT_EQ(signup(longest, "correct horse battery").status, 201);
    const auto longer = signup(address(max + 1), "correct horse battery");
    EXPECT_EQ(longer.status, 422) << longer.body;
    EXPECT_EQ(error_field(longer), "email");
}

} // namespace
} // namespace cdn::test
