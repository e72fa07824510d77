#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace cdn::http {

struct Header {
    std::string_view name;
    std::string_view value;
};

/** A parsed request. Views point into the connection's parser, which outlives the handler. */
struct Request {
    std::string_view method;
    std::string_view target;
    /** The target before '?', still percent-encoded. */
    std::string_view path;
    /** The target after '?', without it; empty when there is none. */
    std::string_view query;
    unsigned version = 11;
    std::vector<Header> headers;
    /** Empty while the route's BodyLimit is decided (the body is not read yet). */
    std::string_view body;
    /** The TCP peer's address. */
    std::string remote_address;
    /** The client's address: the peer's, or the one X-Forwarded-For names when the peer is a
     *  trusted proxy ([server] trusted_proxies). Limits per client count by this. */
    std::string client_address;
    std::string request_id;

    /** The first header of that name (case-insensitive), if any. */
    std::optional<std::string_view> header(std::string_view name) const;
    bool is_head() const { return method == "HEAD"; }
};

/** A body sent from a file with sendfile(2) rather than from memory (a disk-tier hit). */
struct FileBody {
    /** Keeps `fd` open until the answer is written. */
    std::shared_ptr<const void> owner;
    int fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
};

/** What a handler answers. The server adds Date, Content-Length, X-Request-Id and Connection. */
struct Response {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    /** Header lines ("Name: value\r\n") built once and shared, e.g. by a cached variant. */
    std::shared_ptr<const std::string> prebuilt_headers;
    std::shared_ptr<const std::string> body;
    /** Instead of `body`: the body is sent from this file. */
    std::optional<FileBody> file_body;

    /** For the access log: HIT/MISS/STALE and the customer's public key, when known. */
    std::string_view cache_status;
    std::string customer;

    void set_header(std::string name, std::string value);
    std::uint64_t body_size() const {
        return file_body ? file_body->size : body ? body->size() : 0;
    }
    bool has_body() const { return body || file_body; }

    static Response text(unsigned status, std::string content_type, std::string body);
    static Response json(unsigned status, std::string body);
    /** `{"error": {"code", "message"}}` with the error's status and `Cache-Control: no-store`. */
    static Response error(const core::Error& error);
};

} // namespace cdn::http
