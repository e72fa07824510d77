#include "kv/redis_connection.h"

#include <hiredis/hiredis.h>

#include <fmt/format.h>

namespace cdn::kv {
namespace {

timeval to_timeval(std::chrono::milliseconds timeout) {
    return {.tv_sec = static_cast<time_t>(timeout.count() / 1000),
            .tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
}

core::Error unavailable(std::string detail) {
    return core::make_error(core::Errc::Unavailable, "redis unavailable", std::move(detail));
}

/** AUTH and SELECT, as the endpoint asks. */
core::Result<void> log_in(RedisConnection& connection, const RedisEndpoint& endpoint) {
    std::vector<Command> steps;
    if (!endpoint.password.empty()) {
        steps.push_back(endpoint.username.empty()
                            ? Command{"AUTH", endpoint.password}
                            : Command{"AUTH", endpoint.username, endpoint.password});
    }
    if (endpoint.db != 0) {
        steps.push_back({"SELECT", std::to_string(endpoint.db)});
    }
    for (const auto& step : steps) {
        CDN_TRY(reply, connection.run(step));
        if (is_error(*reply)) {
            return unavailable(fmt::format("{}: {}", step[0], error_text(*reply)));
        }
    }
    return {};
}

} // namespace

void ReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }

bool is_error(const redisReply& reply) { return reply.type == REDIS_REPLY_ERROR; }

std::string error_text(const redisReply& reply) { return std::string(reply.str, reply.len); }

core::Result<std::unique_ptr<RedisConnection>>
RedisConnection::open(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout) {
    redisContext* context =
        redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(timeout));
    if (context == nullptr) {
        return unavailable("cannot allocate a redis context");
    }
    std::unique_ptr<RedisConnection> connection(new RedisConnection(context));
    if (context->err != 0) {
        return unavailable(fmt::format("connect to {}: {}", endpoint.display(), context->errstr));
    }
    if (redisSetTimeout(context, to_timeval(timeout)) != REDIS_OK) {
        return unavailable(fmt::format("set timeout: {}", context->errstr));
    }
    // Finds a peer that vanished without a FIN (a dead host) while the connection is idle.
    (void)redisEnableKeepAlive(context);
    CDN_TRY_VOID(log_in(*connection, endpoint));
    return connection;
}

RedisConnection::~RedisConnection() { redisFree(context_); }

int RedisConnection::fd() const { return context_->fd; }

core::Error RedisConnection::io_error(const char* doing) {
    broken_ = true;
    return unavailable(fmt::format("{}: {}", doing,
                                   context_->err != 0 ? context_->errstr : "connection lost"));
}

core::Result<void> RedisConnection::append(const Command& command) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& arg : command) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    if (broken_ || redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                                          lengths.data()) != REDIS_OK) {
        return io_error("append");
    }
    return {};
}

core::Result<void> RedisConnection::flush() {
    int done = 0;
    while (done == 0) {
        if (redisBufferWrite(context_, &done) != REDIS_OK) {
            return io_error("write");
        }
    }
    return {};
}

core::Result<ReplyPtr> RedisConnection::read_reply() {
    void* reply = nullptr;
    if (broken_ || redisGetReply(context_, &reply) != REDIS_OK || reply == nullptr) {
        return io_error("read");
    }
    return ReplyPtr(static_cast<redisReply*>(reply));
}

core::Result<ReplyPtr> RedisConnection::run(const Command& command) {
    CDN_TRY_VOID(append(command));
    return read_reply();
}

core::Result<std::vector<ReplyPtr>>
RedisConnection::pipeline(const std::vector<Command>& commands) {
    for (const auto& command : commands) {
        CDN_TRY_VOID(append(command));
    }
    std::vector<ReplyPtr> replies;
    replies.reserve(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
        CDN_TRY(reply, read_reply());
        replies.push_back(std::move(reply));
    }
    return replies;
}

core::Result<void> RedisConnection::send(const Command& command) {
    CDN_TRY_VOID(append(command));
    return flush();
}

core::Result<std::vector<ReplyPtr>> RedisConnection::read_available() {
    if (broken_ || redisBufferRead(context_) != REDIS_OK) {
        return io_error("read");
    }
    std::vector<ReplyPtr> replies;
    for (;;) {
        void* reply = nullptr;
        if (redisGetReplyFromReader(context_, &reply) != REDIS_OK) {
            return io_error("parse");
        }
        if (reply == nullptr) {
            return replies;
        }
        replies.emplace_back(static_cast<redisReply*>(reply));
    }
}

} // namespace cdn::kv
