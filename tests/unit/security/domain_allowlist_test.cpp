#include "security/domain_allowlist.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace cdn::security {
namespace {

struct AllowCase {
    std::optional<std::string_view> origin;
    std::optional<std::string_view> referer;
    bool allowed;
};

TEST(DomainAllowlist, Table) {
    const std::vector<std::string> allowed = {"shop.example.com", "*.cdn-customer.net",
                                              "localhost"};
    const AllowCase cases[] = {
        // exact
        {"https://shop.example.com", std::nullopt, true},
        {"https://example.com", std::nullopt, false},
        {"https://www.shop.example.com", std::nullopt, false},
        {"https://shop.example.com.evil.org", std::nullopt, false},
        {"https://evilshop.example.com", std::nullopt, false},
        // wildcard: subdomains at any depth, never the bare domain
        {"https://a.cdn-customer.net", std::nullopt, true},
        {"https://a.b.cdn-customer.net", std::nullopt, true},
        {"https://cdn-customer.net", std::nullopt, false},
        {"https://evilcdn-customer.net", std::nullopt, false},
        {"https://a.cdn-customer.net.evil.org", std::nullopt, false},
        // ports, case, trailing dot, scheme does not matter
        {"https://shop.example.com:8443", std::nullopt, true},
        {"http://localhost:3000", std::nullopt, true},
        {"HTTPS://SHOP.Example.COM", std::nullopt, true},
        {"https://shop.example.com.", std::nullopt, true},
        {"https://A.CDN-Customer.NET:443", std::nullopt, true},
        // Referer fallback, and Origin wins over Referer
        {std::nullopt, "https://shop.example.com/products/page.html?x=1", true},
        {std::nullopt, "https://a.cdn-customer.net:8080/", true},
        {std::nullopt, "https://evil.org/https://shop.example.com/", false},
        {"https://evil.org", "https://shop.example.com/", false},
        {"https://shop.example.com", "https://evil.org/", true},
        // unparsable headers
        {"null", std::nullopt, false},
        {"", std::nullopt, false},
        {"shop.example.com", std::nullopt, false},
        {"//shop.example.com", std::nullopt, false},
        {"https://", std::nullopt, false},
        {"https://shop.example.com:x", std::nullopt, false},
        {"https://user@shop.example.com", std::nullopt, false},
        {"https://shop..example.com", std::nullopt, false},
        {"https://.cdn-customer.net", std::nullopt, false},
        {"https://shop example.com", std::nullopt, false},
        {std::nullopt, "not a url", false},
        // no headers: server-to-server
        {std::nullopt, std::nullopt, true},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(origin_allowed(allowed, c.origin, c.referer), c.allowed)
            << "Origin: " << c.origin.value_or("(none)")
            << " Referer: " << c.referer.value_or("(none)");
    }
}

TEST(DomainAllowlist, EmptyListAllowsEverything) {
    EXPECT_TRUE(origin_allowed({}, "https://evil.org", std::nullopt));
    EXPECT_TRUE(origin_allowed({}, "null", "garbage"));
    EXPECT_TRUE(origin_allowed({}, std::nullopt, std::nullopt));
}

TEST(DomainAllowlist, NormalizeAcceptsHostNamesAndWildcards) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"example.com", "example.com"},     {"Shop.Example.COM", "shop.example.com"},
        {"*.example.com", "*.example.com"}, {"*.Example.com.", "*.example.com"},
        {"localhost", "localhost"},         {"my_host-1.example.com", "my_host-1.example.com"},
        {"192.168.0.10", "192.168.0.10"},
    };
    for (const auto& [input, expected] : cases) {
        const auto result = normalize_domain_pattern(input);
        ASSERT_TRUE(result) << input << ": " << result.error().message;
        EXPECT_EQ(*result, expected);
    }
}

TEST(DomainAllowlist, NormalizeRefusesEverythingElse) {
    for (const auto* input : {"",
                              "https://example.com",
                              "example.com/path",
                              "example.com:8080",
                              "example .com",
                              " example.com",
                              "example..com",
                              ".example.com",
                              "*",
                              "*.",
                              "*.com",
                              "a.*.example.com",
                              "*example.com",
                              "**.example.com",
                              "example.*",
                              "-example.com",
                              "example-.com",
                              "exa$mple.com",
                              "user@example.com",
                              "example.com?x",
                              "[::1]"}) {
        const auto result = normalize_domain_pattern(input);
        ASSERT_FALSE(result) << input;
        EXPECT_EQ(result.error().code, core::Errc::InvalidRequest) << input;
        EXPECT_NE(result.error().message.find(std::string("\"") + input + "\""), std::string::npos)
            << result.error().message;
    }
}

TEST(DomainAllowlist, NormalizedEntriesMatch) {
    const auto entry = normalize_domain_pattern("*.Example.COM");
    ASSERT_TRUE(entry);
    EXPECT_TRUE(origin_allowed({*entry}, "https://img.example.com", std::nullopt));
    EXPECT_FALSE(origin_allowed({*entry}, "https://example.com", std::nullopt));
}

} // namespace
} // namespace cdn::security
