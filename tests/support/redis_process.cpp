#include "redis_process.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "child_process.h"
#include "poll_until.h"

namespace cdn::test {
namespace {

constexpr auto READY_TIMEOUT = std::chrono::seconds(20);
constexpr int START_ATTEMPTS = 3;

/** Kills the server (resumed first if frozen) and removes the folder; the server's pid is read
 *  from redis.pid, which launch() rewrites on every start and forget_pid() removes. */
constexpr const char* WATCHDOG_SCRIPT =
    "cat >/dev/null; pid=$(cat \"$1/redis.pid\" 2>/dev/null); "
    "if [ -n \"$pid\" ]; then kill -CONT \"$pid\"; kill -KILL \"$pid\"; fi; rm -rf \"$1\"";

std::string reply_text(const redisReply& reply) {
    switch (reply.type) {
    case REDIS_REPLY_INTEGER:
        return std::to_string(reply.integer);
    case REDIS_REPLY_NIL:
        return "(nil)";
    case REDIS_REPLY_ERROR:
        return "ERR: " + std::string(reply.str, reply.len);
    case REDIS_REPLY_ARRAY:
        return "(array of " + std::to_string(reply.elements) + ")";
    default:
        return std::string(reply.str, reply.len);
    }
}

} // namespace

RedisProcess::RedisProcess()
    : root_(make_temp_folder("cdn-redis")),
      watchdog_(std::make_unique<Watchdog>(WATCHDOG_SCRIPT, root_)) {
    for (int attempt = 1; attempt <= START_ATTEMPTS; ++attempt) {
        port_ = free_loopback_port();
        if (launch()) {
            return;
        }
    }
    stop_watchdog();
    throw std::runtime_error("redis-server did not start after " +
                             std::to_string(START_ATTEMPTS) + " attempts");
}

RedisProcess::~RedisProcess() {
    kill();
    stop_watchdog();
}

void RedisProcess::stop_watchdog() {
    watchdog_->close();
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
}

RedisProcess& RedisProcess::shared() { return SharedServer<RedisProcess>::get(); }

std::string RedisProcess::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

bool RedisProcess::launch() {
    const std::string port = std::to_string(port_);
    const std::string dir = root_.string();
    const std::string log = (root_ / "redis.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        ::close_range(3, ~0U, 0); // no socket of ours may stay open in the server
        ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", dir.c_str(), "--daemonize", "no",
                 nullptr);
        ::_exit(127);
    }
    std::ofstream(root_ / "redis.pid") << pid_ << "\n";
    bool exited = false;
    const bool ready = poll_until(
        [&] {
            exited = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
            if (exited) {
                return true;
            }
            try {
                return command({"PING"}) == "PONG";
            } catch (const std::exception&) {
                return false;
            }
        },
        READY_TIMEOUT);
    if (ready && !exited) {
        return true;
    }
    if (!exited) {
        kill();
        throw std::runtime_error("redis-server did not answer PING on port " + port);
    }
    forget_pid();
    return false;
}

void RedisProcess::forget_pid() {
    // The watchdog must never kill a later process that got the number.
    std::error_code ignored;
    std::filesystem::remove(root_ / "redis.pid", ignored);
    pid_ = 0;
}

void RedisProcess::kill() {
    if (pid_ <= 0) {
        return;
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    forget_pid();
    frozen_ = false;
}

void RedisProcess::start_again() {
    if (!launch()) {
        throw std::runtime_error("redis-server could not listen on its port again: " +
                                 std::to_string(port_));
    }
}

void RedisProcess::freeze() {
    if (pid_ > 0 && ::kill(pid_, SIGSTOP) == 0) {
        frozen_ = true;
    }
}

void RedisProcess::thaw() {
    if (pid_ > 0 && frozen_) {
        ::kill(pid_, SIGCONT);
        frozen_ = false;
    }
}

std::string RedisProcess::command(const std::vector<std::string>& args) const {
    const timeval timeout{.tv_sec = 2, .tv_usec = 0};
    std::unique_ptr<redisContext, decltype(&redisFree)> context(
        redisConnectWithTimeout("127.0.0.1", port_, timeout), redisFree);
    if (!context || context->err != 0) {
        throw std::runtime_error("cannot connect to the test redis");
    }
    redisSetTimeout(context.get(), timeout);
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& arg : args) {
        argv.push_back(arg.c_str());
        lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(redisCommandArgv(
        context.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (reply == nullptr) {
        throw std::runtime_error("the test redis did not answer");
    }
    auto text = reply_text(*reply);
    freeReplyObject(reply);
    return text;
}

} // namespace cdn::test
