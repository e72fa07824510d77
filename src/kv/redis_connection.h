#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "kv/redis_url.h"

struct redisContext;
struct redisReply;

namespace cdn::kv {

struct ReplyDeleter {
    void operator()(redisReply* reply) const;
};
/** A reply of hiredis; the error replies of Redis are replies too (isError()). */
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;
/** One command: its name and arguments, binary-safe. */
using Command = std::vector<std::string>;

/**
 * One blocking hiredis connection whose every read and write is bounded by the timeout it was
 * opened with (SO_RCVTIMEO/SO_SNDTIMEO via redisSetTimeout), so a Redis that accepts but never
 * answers costs a caller at most that. After an I/O error or a timeout the connection is
 * broken(): its protocol state is unknown, and the owner drops it. Not thread-safe.
 */
class RedisConnection {
public:
    /** Connects, AUTHs and SELECTs within `timeout` per step. Errors: Errc::Unavailable. */
    static core::Result<std::unique_ptr<RedisConnection>> open(const RedisEndpoint& endpoint,
                                                               std::chrono::milliseconds timeout);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    /** Sends `command` and reads its reply (an error reply is a reply). */
    core::Result<ReplyPtr> run(const Command& command);
    /** Sends every command in one write, then reads their replies: one round trip. */
    core::Result<std::vector<ReplyPtr>> pipeline(const std::vector<Command>& commands);

    /** Queues `command` and writes everything queued, without waiting for a reply. */
    core::Result<void> send(const Command& command);
    /** Reads what the socket holds now (call when poll() says it is readable) and returns the
     *  complete replies it makes; none when a reply is still partial. */
    core::Result<std::vector<ReplyPtr>> read_available();
    /** The next reply, waiting for it at most the timeout. */
    core::Result<ReplyPtr> read_reply();

    bool broken() const { return broken_; }
    int fd() const;

private:
    explicit RedisConnection(redisContext* context) : context_(context) {}
    core::Result<void> append(const Command& command);
    core::Result<void> flush();
    core::Error io_error(const char* doing);

    redisContext* context_;
    bool broken_ = false;
};

/** True for a Redis error reply ("-ERR ..."). */
bool is_error(const redisReply& reply);
/** An error reply's text, for messages. */
std::string error_text(const redisReply& reply);

} // namespace cdn::kv
