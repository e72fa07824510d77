#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cdn::test {

/** A response as read off the wire. Header names are lowercased. */
struct RawResponse {
    int status = 0;
    std::multimap<std::string, std::string> headers;
    std::string body;
    std::optional<std::string> header(const std::string& name) const;
};

/** A blocking TCP connection to 127.0.0.1 for tests that need byte-level control. */
class RawConnection {
public:
    /** Connects to 127.0.0.1:`port`, from `source_address` (any 127.0.0.0/8 address, so a test
     *  can play several clients) when it is not empty. */
    explicit RawConnection(int port, const std::string& source_address = {});
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    bool send(std::string_view bytes);
    /** Reads one response; HEAD responses and 304 have no body. nullopt on close/timeout. */
    std::optional<RawResponse> read_response(bool head_request = false,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /** True when bytes of a response arrived within `timeout` (kept for read_response). */
    bool wait_readable(std::chrono::milliseconds timeout) { return !buffer_.empty() || fill(timeout); }
    /** True when the server closed the connection (read returns 0) within `timeout`. */
    bool closed_by_peer(std::chrono::milliseconds timeout);
    bool connected() const { return fd_ >= 0; }

private:
    bool fill(std::chrono::milliseconds timeout);
    int fd_ = -1;
    std::string buffer_;
};

/** One request on a fresh connection. */
std::optional<RawResponse> http_request(int port, std::string_view method, std::string_view target,
                                        const std::map<std::string, std::string>& headers = {},
                                        std::string_view body = {});

/** A TCP port on 127.0.0.1 that was free a moment ago. */
int free_port();

} // namespace cdn::test
