#include "kv/redis_subscriber.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace cdn::kv {
namespace {

std::string_view text_of(const redisReply& reply) { return {reply.str, reply.len}; }

/** "message", "subscribe", "pong"... of a reply in subscribe mode; "" for anything else. */
std::string_view kind_of(const redisReply& reply) {
    if (reply.type == REDIS_REPLY_STATUS) {
        return text_of(reply) == "PONG" ? "pong" : "";
    }
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements == 0 ||
        reply.element[0]->type != REDIS_REPLY_STRING) {
        return "";
    }
    return text_of(*reply.element[0]);
}

core::Error lost_connection(std::string detail) {
    return core::make_error(core::Errc::Unavailable, "redis unavailable", std::move(detail));
}

} // namespace

RedisSubscriber::RedisSubscriber(RedisEndpoint endpoint, std::string prefix,
                                 std::chrono::milliseconds timeout, RedisHealth& health,
                                 std::shared_ptr<LocalChannels> channels)
    : endpoint_(std::move(endpoint)), prefix_(std::move(prefix)), timeout_(timeout),
      health_(health), channels_(std::move(channels)) {
    if (::pipe2(wake_fds_, O_NONBLOCK | O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe for the redis subscriber");
    }
    thread_ = std::thread([this] { run(); });
}

RedisSubscriber::~RedisSubscriber() {
    stopping_.store(true);
    wake();
    thread_.join();
    ::close(wake_fds_[0]);
    ::close(wake_fds_[1]);
}

void RedisSubscriber::wake() {
    const char byte = 1;
    // A full pipe already holds a wake-up: nothing is lost by dropping this one.
    (void)!::write(wake_fds_[1], &byte, 1);
}

void RedisSubscriber::drain_wake_pipe() {
    char buffer[64];
    while (::read(wake_fds_[0], buffer, sizeof buffer) > 0) {
    }
}

void RedisSubscriber::wait_subscribed(const std::string& channel,
                                      std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    confirmed_.wait_for(lock, timeout, [&] {
        return subscribed_.contains(channel) || !health_.up() || stopping_.load();
    });
}

void RedisSubscriber::run() {
    while (!stopping_.load()) {
        if (!connection_) {
            if (!connect()) {
                pause(backoff_.next());
                continue;
            }
            backoff_.reset();
            health_.regained();
        }
        step();
    }
    connection_.reset();
}

/** Connects and subscribes to every channel that has handlers, waiting for Redis to confirm. */
bool RedisSubscriber::connect() {
    auto opened = RedisConnection::open(endpoint_, timeout_);
    if (!opened) {
        health_.lost(opened.error());
        return false;
    }
    connection_ = std::move(*opened);
    reconnects_.fetch_add(1, std::memory_order_relaxed);
    drain_wake_pipe();
    // The PING proves the server answers (a hung one still accepts connections).
    auto synced = sync_channels();
    if (synced) {
        synced = connection_->send({"PING"});
        awaiting_pong_ = true;
    }
    while (synced && (awaiting_pong_ || std::ranges::any_of(in_flight_, [](const auto& c) {
                          return c.second > 0;
                      }))) {
        auto reply = connection_->read_reply();
        if (!reply) {
            synced = reply.error();
            break;
        }
        handle(**reply);
    }
    if (!synced) {
        drop(synced.error());
        return false;
    }
    next_ping_ = Clock::now() + PING_INTERVAL;
    return true;
}

/** SUBSCRIBE to the channels that gained handlers, UNSUBSCRIBE from those that lost them. */
core::Result<void> RedisSubscriber::sync_channels() {
    const auto wanted = channels_->channels();
    Command subscribe{"SUBSCRIBE"};
    for (const auto& channel : wanted) {
        if (requested_.insert(channel).second) {
            subscribe.push_back(prefix_ + channel);
            ++in_flight_[channel];
        }
    }
    Command unsubscribe{"UNSUBSCRIBE"};
    for (auto it = requested_.begin(); it != requested_.end();) {
        if (std::ranges::find(wanted, *it) != wanted.end()) {
            ++it;
            continue;
        }
        unsubscribe.push_back(prefix_ + *it);
        const std::lock_guard lock(mutex_);
        subscribed_.erase(*it);
        it = requested_.erase(it);
    }
    if (subscribe.size() > 1) {
        CDN_TRY_VOID(connection_->send(subscribe));
    }
    if (unsubscribe.size() > 1) {
        CDN_TRY_VOID(connection_->send(unsubscribe));
    }
    return {};
}

void RedisSubscriber::step() {
    pollfd fds[2] = {{.fd = connection_->fd(), .events = POLLIN, .revents = 0},
                     {.fd = wake_fds_[0], .events = POLLIN, .revents = 0}};
    const int ready = ::poll(fds, 2, poll_timeout_ms());
    if (ready < 0) {
        return; // EINTR: look again
    }
    if ((fds[1].revents & POLLIN) != 0) {
        drain_wake_pipe();
        if (auto synced = sync_channels(); !synced) {
            drop(synced.error());
            return;
        }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        read();
    } else if (ready == 0) {
        on_timeout();
    }
}

int RedisSubscriber::poll_timeout_ms() const {
    auto until = awaiting_pong_ ? pong_deadline_ : next_ping_;
    if (!health_.up() && !awaiting_pong_) {
        until = std::min(until, next_verify_);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    return static_cast<int>(std::clamp<std::int64_t>(left.count() + 1, 0, 60'000));
}

/** Silence: ask Redis whether it is there (also to regain health lost by a command). */
void RedisSubscriber::on_timeout() {
    const auto now = Clock::now();
    if (awaiting_pong_) {
        if (now >= pong_deadline_) {
            drop(lost_connection("no answer to PING within the timeout"));
        }
        return;
    }
    if (now < next_ping_ && (health_.up() || now < next_verify_)) {
        return;
    }
    if (!health_.up()) {
        next_verify_ = now + backoff_.next();
    }
    if (auto sent = connection_->send({"PING"}); !sent) {
        drop(sent.error());
        return;
    }
    awaiting_pong_ = true;
    pong_deadline_ = now + timeout_;
}

void RedisSubscriber::read() {
    auto replies = connection_->read_available();
    if (!replies) {
        drop(replies.error());
        return;
    }
    next_ping_ = Clock::now() + PING_INTERVAL;
    for (const auto& reply : *replies) {
        handle(*reply);
    }
}

void RedisSubscriber::handle(const redisReply& reply) {
    const auto kind = kind_of(reply);
    if (kind == "message" && reply.elements == 3) {
        auto channel = text_of(*reply.element[1]);
        if (channel.starts_with(prefix_)) {
            channel.remove_prefix(prefix_.size());
            channels_->deliver(channel, text_of(*reply.element[2]));
        }
    } else if (kind == "subscribe" && reply.elements >= 2) {
        on_subscribed(std::string(text_of(*reply.element[1]).substr(prefix_.size())));
    } else if (kind == "pong") {
        on_pong();
    }
}

void RedisSubscriber::on_subscribed(const std::string& channel) {
    // Confirmed only once every SUBSCRIBE sent for it is answered, and if still wanted.
    if (--in_flight_[channel] > 0 || !requested_.contains(channel)) {
        return;
    }
    in_flight_.erase(channel);
    {
        const std::lock_guard lock(mutex_);
        subscribed_.insert(channel);
    }
    confirmed_.notify_all();
}

void RedisSubscriber::on_pong() {
    awaiting_pong_ = false;
    // The back-off is not reset here: were new connections refused while this one answers,
    // each failed command would be followed at once by a PING regaining health.
    if (!health_.up()) {
        health_.regained();
    }
}

void RedisSubscriber::drop(const core::Error& why) {
    connection_.reset();
    requested_.clear();
    in_flight_.clear();
    awaiting_pong_ = false;
    {
        const std::lock_guard lock(mutex_);
        subscribed_.clear();
    }
    health_.lost(why);
    confirmed_.notify_all();
}

void RedisSubscriber::pause(std::chrono::milliseconds delay) {
    pollfd wake{.fd = wake_fds_[0], .events = POLLIN, .revents = 0};
    ::poll(&wake, 1, static_cast<int>(delay.count()));
    drain_wake_pipe();
}

} // namespace cdn::kv
