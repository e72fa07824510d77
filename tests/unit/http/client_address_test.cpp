#include "http/client_address.h"

#include <gtest/gtest.h>

namespace cdn::http {
namespace {

TrustedProxies trust(const std::vector<std::string>& entries) {
    auto parsed = TrustedProxies::parse(entries);
    EXPECT_TRUE(parsed) << parsed.error().detail;
    return parsed ? *parsed : TrustedProxies{};
}

/** The client of a request from `peer` carrying these X-Forwarded-For headers. */
std::string client_of(const TrustedProxies& proxies, const std::string& peer,
                      const std::vector<std::string_view>& forwarded_for) {
    Request request;
    request.remote_address = peer;
    request.headers.push_back({"Host", "img.test"});
    for (auto value : forwarded_for) {
        request.headers.push_back({"X-Forwarded-For", value});
    }
    return proxies.client_address(request);
}

TEST(TrustedProxiesTest, ParsesAddressesAndRangesOfBothFamilies) {
    EXPECT_TRUE(TrustedProxies::parse({}));
    EXPECT_TRUE(TrustedProxies::parse({"10.0.0.0/8", "192.168.1.7", "::1", "2001:db8::/32",
                                       "::ffff:172.16.0.1", "fe80::/10"}));
}

TEST(TrustedProxiesTest, MalformedEntriesAreRefusedByName) {
    for (const std::string bad : {"", "proxy.example", "10.0.0.0/33", "10.0.0/8", "1.2.3.4/",
                                  "2001:db8::/129", "10.0.0.1 ", "300.1.1.1", "::1/abc"}) {
        const auto parsed = TrustedProxies::parse({"127.0.0.1", bad});
        ASSERT_FALSE(parsed) << '"' << bad << '"';
        EXPECT_NE(parsed.error().detail.find('"' + bad + '"'), std::string::npos)
            << parsed.error().detail;
    }
}

TEST(TrustedProxiesTest, CidrRangesMatchTheirPrefixOnly) {
    const auto proxies = trust({"10.0.0.0/8", "192.168.1.128/25", "2001:db8:a::/48", "::1"});
    EXPECT_TRUE(proxies.contains("10.255.3.4"));
    EXPECT_FALSE(proxies.contains("11.0.0.1"));
    EXPECT_TRUE(proxies.contains("192.168.1.200"));
    EXPECT_FALSE(proxies.contains("192.168.1.127"));
    EXPECT_TRUE(proxies.contains("2001:db8:a:ffff::1"));
    EXPECT_FALSE(proxies.contains("2001:db8:b::1"));
    EXPECT_TRUE(proxies.contains("::1"));
    EXPECT_FALSE(proxies.contains("::2"));
    EXPECT_TRUE(proxies.contains("::ffff:10.1.2.3")) << "IPv4-mapped peers count as IPv4";
    EXPECT_FALSE(proxies.contains("not an address"));
    EXPECT_FALSE(proxies.contains(""));
}

TEST(TrustedProxiesTest, AnIpv4EntryMatchesOnlyThatAddress) {
    const auto proxies = trust({"127.0.0.1"});
    EXPECT_TRUE(proxies.contains("127.0.0.1"));
    EXPECT_FALSE(proxies.contains("127.0.0.2"));
    EXPECT_FALSE(proxies.contains("::1"));
}

TEST(TrustedProxiesTest, WithoutTrustedProxiesTheClientIsThePeer) {
    const TrustedProxies none;
    EXPECT_EQ(client_of(none, "203.0.113.5", {"198.51.100.1"}), "203.0.113.5");
}

TEST(TrustedProxiesTest, AnUntrustedPeerCannotNameAnotherClient) {
    const auto proxies = trust({"10.0.0.0/8"});
    EXPECT_EQ(client_of(proxies, "203.0.113.5", {"198.51.100.1"}), "203.0.113.5");
}

TEST(TrustedProxiesTest, ATrustedPeerNamesTheClient) {
    const auto proxies = trust({"10.0.0.0/8"});
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {"198.51.100.1"}), "198.51.100.1");
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {" 2001:db8::7 "}), "2001:db8::7");
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {}), "10.0.0.2") << "no header: the proxy itself";
}

TEST(TrustedProxiesTest, MultiHopTakesTheRightmostUntrustedAddress) {
    const auto proxies = trust({"10.0.0.0/8"});
    // The client forged its own header: the first proxy appended the real address.
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {"1.1.1.1, 198.51.100.1, 10.0.0.9"}),
              "198.51.100.1");
    // The same list split over two headers is read as one.
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {"1.1.1.1, 198.51.100.1", "10.0.0.9"}),
              "198.51.100.1");
    // Every hop trusted: the leftmost is as far as the chain goes.
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {"10.1.1.1, 10.0.0.9"}), "10.1.1.1");
    // Ports and brackets, as some proxies write them.
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {"198.51.100.1:5555"}), "198.51.100.1");
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {"[2001:db8::1]:443"}), "2001:db8::1");
}

TEST(TrustedProxiesTest, GarbageEndsTheWalkAtTheLastTrustedHop) {
    const auto proxies = trust({"10.0.0.0/8"});
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {"unknown"}), "10.0.0.2");
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {"198.51.100.1, garbage, 10.0.0.9"}), "10.0.0.9");
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {",,, ,"}), "10.0.0.2");
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {"[2001:db8::1"}), "10.0.0.2");
    // Garbage the client sent before the address its proxy appended is never reached.
    EXPECT_EQ(client_of(proxies, "10.0.0.2", {"<script>, 198.51.100.1"}), "198.51.100.1");
}

TEST(TrustedProxiesTest, ClientAddressesAreWrittenCanonically) {
    const auto proxies = trust({"::1", "127.0.0.1"});
    EXPECT_EQ(client_of(proxies, "::1", {"2001:DB8:0:0::0001"}), "2001:db8::1");
    EXPECT_EQ(client_of(proxies, "127.0.0.1", {"::ffff:198.51.100.1"}), "198.51.100.1");
}

TEST(ClientGroupTest, Ipv6IsGroupedByItsSlash64) {
    EXPECT_EQ(client_group("2001:db8:1:2::1"), client_group("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    EXPECT_NE(client_group("2001:db8:1:2::1"), client_group("2001:db8:1:3::1"));
    EXPECT_EQ(client_group("2001:db8:1:2::1"), 0x2001'0db8'0001'0002ULL);
}

TEST(ClientGroupTest, Ipv4IsItsOwnGroupAndNeverCollidesWithIpv6) {
    EXPECT_NE(client_group("127.0.0.2"), client_group("127.0.0.3"));
    EXPECT_EQ(client_group("198.51.100.1"), client_group("::ffff:198.51.100.1"));
    EXPECT_NE(client_group("0.0.0.1"), client_group("::1"));
    EXPECT_NE(client_group("32.1.13.184"), client_group("2001:db8::1")); // same leading bits
    EXPECT_EQ(client_group("garbage"), 0U);
}

TEST(ClientGroupTest, TheSameAddressAgainAndThenAnotherGetTheirOwnGroups) {
    // The last address's group is remembered: a repeat must give it, a change must not.
    const auto first = client_group("203.0.113.7");
    EXPECT_EQ(client_group("203.0.113.7"), first);
    EXPECT_NE(client_group("203.0.113.8"), first);
    EXPECT_EQ(client_group("203.0.113.7"), first);
    EXPECT_EQ(client_group("garbage"), 0U);
    EXPECT_EQ(client_group(""), 0U);
    EXPECT_EQ(client_group("203.0.113.7"), first);
}

} // namespace
} // namespace cdn::http
