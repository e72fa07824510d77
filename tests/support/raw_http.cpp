#include "raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "openapi_validator.h"

namespace cdn::test {

std::optional<std::string> RawResponse::header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::nullopt : std::optional(it->second);
}

RawConnection::RawConnection(int port, const std::string& source_address) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (!source_address.empty()) {
        sockaddr_in source{};
        source.sin_family = AF_INET;
        if (::inet_pton(AF_INET, source_address.c_str(), &source.sin_addr) != 1 ||
            ::bind(fd_, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0) {
            ::close(fd_);
            fd_ = -1;
            return;
        }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd_);
        fd_ = -1;
        return;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

RawConnection::~RawConnection() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool RawConnection::send(std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool RawConnection::fill(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
        return false;
    }
    char chunk[16384];
    const auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) {
        return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
}

std::optional<RawResponse> RawConnection::read_response(bool head_request,
                                                        std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto remaining = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                     std::chrono::steady_clock::now());
    };
    std::size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
        if (remaining().count() <= 0 || !fill(remaining())) {
            return std::nullopt;
        }
    }
    RawResponse res;
    std::istringstream head(buffer_.substr(0, head_end));
    std::string line;
    std::getline(head, line);
    res.status = std::atoi(line.substr(9, 3).c_str());
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        const auto colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        std::string name = line.substr(0, colon);
        for (auto& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        res.headers.emplace(name, value);
    }
    buffer_.erase(0, head_end + 4);
    const auto length_header = res.header("content-length");
    std::size_t length = length_header ? std::stoul(*length_header) : 0;
    if (head_request || res.status == 304 || res.status == 204) {
        length = 0;
    }
    while (buffer_.size() < length) {
        if (remaining().count() <= 0 || !fill(remaining())) {
            return std::nullopt;
        }
    }
    res.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return res;
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
        return false;
    }
    char c;
    return ::recv(fd_, &c, 1, MSG_PEEK) <= 0;
}

std::optional<RawResponse> http_request(int port, std::string_view method, std::string_view target,
                                        const std::map<std::string, std::string>& headers,
                                        std::string_view body) {
    RawConnection conn(port);
    if (!conn.connected()) {
        return std::nullopt;
    }
    std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
    if (!headers.contains("Host")) {
        req += "Host: 127.0.0.1\r\n";
    }
    for (const auto& [name, value] : headers) {
        req += name + ": " + value + "\r\n";
    }
    if (!body.empty() || method == "PUT" || method == "POST") {
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "Connection: close\r\n\r\n";
    req += body;
    if (!conn.send(req)) {
        return std::nullopt;
    }
    auto res = conn.read_response(method == "HEAD");
    if (res) {
        // Every answer a test receives is also a check of the OpenAPI document.
        if (const auto violation = openapi_violation(method, target, *res); !violation.empty()) {
            ADD_FAILURE() << "OpenAPI document: " << violation;
        }
    }
    return res;
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

} // namespace cdn::test
