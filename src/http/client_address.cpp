#include "http/client_address.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <algorithm>
#include <optional>

#include "core/strings.h"

namespace cdn::http {
namespace {

namespace ip = boost::asio::ip;
using Bytes = std::array<std::uint8_t, 16>;

constexpr unsigned V4_MAPPED_PREFIX_BITS = 96;

/** Every address as 16 bytes: IPv4 (and IPv4-mapped IPv6) as ::ffff:a.b.c.d. */
Bytes as_v6_bytes(const ip::address& address) {
    if (address.is_v4()) {
        return ip::make_address_v6(ip::v4_mapped, address.to_v4()).to_bytes();
    }
    return address.to_v6().to_bytes();
}

std::optional<Bytes> parse_address(std::string_view text) {
    boost::system::error_code ec;
    const auto address = ip::make_address(text, ec);
    if (ec) {
        return std::nullopt;
    }
    return as_v6_bytes(address);
}

/** One X-Forwarded-For entry: an address, "[v6]", "[v6]:port" or "v4:port". */
std::optional<Bytes> parse_forwarded_entry(std::string_view entry) {
    entry = core::trim(entry);
    if (entry.starts_with('[')) {
        const auto close = entry.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        entry = entry.substr(1, close - 1);
    } else if (const auto colon = entry.find(':');
               colon != std::string_view::npos &&
               entry.find(':', colon + 1) == std::string_view::npos) {
        entry = entry.substr(0, colon); // IPv4 with a port: IPv6 has at least two colons
    }
    return parse_address(entry);
}

std::optional<std::string_view> rightmost_entry(std::string_view& list) {
    while (!list.empty()) {
        const auto comma = list.rfind(',');
        const auto entry = comma == std::string_view::npos ? list : list.substr(comma + 1);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
        if (!core::trim(entry).empty()) {
            return entry;
        }
    }
    return std::nullopt;
}

std::string to_string(const Bytes& bytes) {
    const ip::address_v6 v6(bytes);
    return v6.is_v4_mapped() ? ip::make_address_v4(ip::v4_mapped, v6).to_string()
                             : v6.to_string();
}

} // namespace

core::Result<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& entries) {
    TrustedProxies proxies;
    for (const auto& entry : entries) {
        const auto bad = [&] {
            return core::make_error(core::Errc::BadRequest, "invalid trusted proxy",
                                    "\"" + entry + "\" is not an IP address or CIDR range");
        };
        boost::system::error_code ec;
        Range range;
        if (entry.find('/') == std::string::npos) {
            const auto address = parse_address(entry);
            if (!address) {
                return bad();
            }
            range = {*address, 128};
        } else if (entry.find(':') == std::string::npos) {
            const auto network = ip::make_network_v4(entry, ec);
            if (ec) {
                return bad();
            }
            range = {as_v6_bytes(network.address()),
                     V4_MAPPED_PREFIX_BITS + network.prefix_length()};
        } else {
            const auto network = ip::make_network_v6(entry, ec);
            if (ec) {
                return bad();
            }
            range = {network.address().to_bytes(), network.prefix_length()};
        }
        proxies.ranges_.push_back(range);
    }
    return proxies;
}

bool TrustedProxies::contains(const Bytes& address) const {
    return std::any_of(ranges_.begin(), ranges_.end(), [&](const Range& range) {
        const unsigned whole = range.prefix_bits / 8;
        const unsigned rest = range.prefix_bits % 8;
        if (!std::equal(address.begin(), address.begin() + whole, range.bytes.begin())) {
            return false;
        }
        const auto mask = static_cast<std::uint8_t>(0xFF00U >> rest);
        return rest == 0 || (address[whole] & mask) == (range.bytes[whole] & mask);
    });
}

bool TrustedProxies::contains(std::string_view address) const {
    const auto bytes = parse_address(address);
    return bytes && contains(*bytes);
}

std::string TrustedProxies::client_address(const Request& request) const {
    if (ranges_.empty()) {
        return request.remote_address;
    }
    const auto peer = parse_address(request.remote_address);
    if (!peer || !contains(*peer)) {
        return request.remote_address;
    }
    // Headers of one name form one comma-separated list in order (RFC 9110 5.3): walk the
    // last header first, each from its right end.
    Bytes client = *peer;
    for (auto header = request.headers.rbegin(); header != request.headers.rend(); ++header) {
        if (!core::iequals(header->name, "x-forwarded-for")) {
            continue;
        }
        auto list = header->value;
        while (const auto entry = rightmost_entry(list)) {
            const auto hop = parse_forwarded_entry(*entry);
            if (!hop) {
                return to_string(client);
            }
            client = *hop;
            if (!contains(client)) {
                return to_string(client);
            }
        }
    }
    return to_string(client);
}

namespace {

ClientGroup group_of(std::string_view address) {
    const auto bytes = parse_address(address);
    if (!bytes) {
        return 0;
    }
    ClientGroup group = 0;
    const ip::address_v6 v6(*bytes);
    if (v6.is_v4_mapped()) {
        constexpr ClientGroup V4_TAG = 0xFF00'0000'0000'0000ULL;
        for (std::size_t i = 12; i < 16; ++i) {
            group = (group << 8) | (*bytes)[i];
        }
        return V4_TAG | group;
    }
    for (std::size_t i = 0; i < 8; ++i) {
        group = (group << 8) | (*bytes)[i];
    }
    return group;
}

} // namespace

ClientGroup client_group(std::string_view address) {
    // A connection's requests come from one address: the last one's group is kept per thread,
    // found again by comparing the whole address (no parse on a keep-alive connection's hits).
    thread_local std::string last_address;
    thread_local ClientGroup last_group = 0;
    if (address != last_address || last_address.empty()) {
        last_group = group_of(address);
        last_address = address;
    }
    return last_group;
}

} // namespace cdn::http
