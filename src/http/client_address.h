#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/message.h"

namespace cdn::http {

/**
 * Who a request comes from, for limits per client: the TCP peer, or, when the peer is one of
 * `[server] trusted_proxies`, the address X-Forwarded-For names. Parsed once at start; the
 * per-request work is a handful of prefix compares and is skipped entirely when the list is
 * empty (the default).
 */
class TrustedProxies {
public:
    TrustedProxies() = default;

    /**
     * Parses `[server] trusted_proxies`: IPv4 or IPv6 addresses and CIDR ranges ("10.0.0.0/8",
     * "::1", "2001:db8::/32"). IPv4-mapped IPv6 addresses count as IPv4.
     * @return the list, or BadRequest naming the first malformed entry.
     */
    static core::Result<TrustedProxies> parse(const std::vector<std::string>& entries);

    bool empty() const { return ranges_.empty(); }

    /** Whether `address` (an IP literal) is in one of the ranges; false for anything else. */
    bool contains(std::string_view address) const;

    /**
     * The client's address: the peer's (`request.remote_address`) unless the peer is trusted;
     * then the rightmost X-Forwarded-For address (over every X-Forwarded-For header, in order)
     * that is not itself trusted, or the leftmost one when all are. An entry that is not an IP
     * address ends the walk at the last trusted hop: a client cannot name itself through a
     * proxy that did not add a usable address.
     */
    std::string client_address(const Request& request) const;

private:
    /** An IPv6 prefix; IPv4 ranges are stored IPv4-mapped (::ffff:0:0/96 + their bits). */
    struct Range {
        std::array<std::uint8_t, 16> bytes{};
        unsigned prefix_bits = 0;
    };
    bool contains(const std::array<std::uint8_t, 16>& address) const;

    std::vector<Range> ranges_;
};

/**
 * The unit per-client limits count by, as one integer: an IPv4 address (IPv4-mapped IPv6
 * included) as is, an IPv6 address by its /64 prefix, since one subscriber usually holds a
 * whole /64. IPv4 groups are tagged in the top bits with ff00::/8 (multicast, never a TCP peer),
 * so no IPv6 prefix collides with them. An address that does not parse is group 0.
 */
using ClientGroup = std::uint64_t;
ClientGroup client_group(std::string_view address);

} // namespace cdn::http
