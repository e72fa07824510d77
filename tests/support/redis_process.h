#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace cdn::test {

class Watchdog;

/**
 * A private redis-server for tests (Debian's redis-server), run as a child process:
 * `--port <free> --bind 127.0.0.1 --save '' --appendonly no` in a fresh temp folder, stopped by
 * its pid and the folder removed on destruction. Never the system service, never a fixed port.
 * A watchdog child kills the server and removes the folder if this process dies without
 * running the destructor.
 */
class RedisProcess {
public:
    /** Starts the server on a free port and waits (polling, with a deadline) until it answers
     *  PING; throws std::runtime_error otherwise. */
    RedisProcess();
    ~RedisProcess();
    RedisProcess(const RedisProcess&) = delete;
    RedisProcess& operator=(const RedisProcess&) = delete;

    /** The one server of this test binary, started on first use, stopped when the tests end. */
    static RedisProcess& shared();

    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    /** `redis://127.0.0.1:<port>`. */
    std::string url() const;

    /** Kills the server (SIGKILL: an outage, not a shutdown), keeping its port for
     *  start_again(); idempotent. */
    void kill();
    /** Starts it again on the same port; waits until it answers (throws if it does not). */
    void start_again();
    /** SIGSTOP: connections are accepted by the kernel but nothing answers, like a hung host.
     *  thaw() (or kill(), or the destructor) resumes it. */
    void freeze();
    void thaw();

    /** Runs one command on a new connection; the reply as text (integers in decimal, nil as
     *  "(nil)", errors as "ERR: ..."). Throws if the server does not answer. */
    std::string command(const std::vector<std::string>& args) const;

private:
    /** Starts redis-server on port_: false when it exits at once (the port was taken). */
    bool launch();
    /** Ends the watchdog (it would kill the server) and removes the folder. */
    void stop_watchdog();
    void forget_pid();

    std::filesystem::path root_;
    int port_ = 0;
    pid_t pid_ = 0;
    bool frozen_ = false;
    std::unique_ptr<Watchdog> watchdog_;
};

} // namespace cdn::test
