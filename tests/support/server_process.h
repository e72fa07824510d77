#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace cdn::test {

/** The imagecdn binary under test (set by CMake). */
std::string imagecdn_binary();

/**
 * The database the servers and commands on `data_dir` use, chosen by the test environment:
 * empty (the embedded SQLite file in `data_dir`) unless `CDN_TEST_DATABASE=postgres`, then the
 * URL of a fresh database on the test binary's private PostgreSQL, made on the first call for
 * that data dir. ServerProcess and run_imagecdn pass it as IMAGECDN_DATABASE_URL unless their
 * env sets one, so one test body runs on either engine.
 */
std::string test_database_url(const std::string& data_dir);

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/** Runs the imagecdn binary to completion with these arguments and extra environment (plus
 *  the test_database_url of the `--data-dir` among `args`, if any). */
CommandResult run_imagecdn(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {});

/** `run_imagecdn` with `--data-dir data_dir` appended: an operator command on one install. */
CommandResult run_imagecdn_on(const std::string& data_dir, std::vector<std::string> args);

/** The exit code of child process `pid` (128+signal if killed) once it exits, polled until
 *  `timeout`; nullopt if it still runs then. Reaps the child when it returns a code. */
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

/** One sample of the /metrics of the server on `port` (with the test's internal secret), e.g.
 *  `imagecdn_transforms_total` or `name{label="x"}`; nullopt when it has none. A missing or
 *  failed answer is a test failure. */
std::optional<double> scrape_metric(int port, const std::string& name_and_labels);

/** `imagecdn serve` on a free loopback port, stopped by its pid (SIGTERM, then SIGKILL). */
class ServerProcess {
public:
    ServerProcess(std::string data_dir, std::map<std::string, std::string> env = {},
                  std::vector<std::string> extra_args = {});
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    /** Starts the process and waits until /healthz answers 200; false on failure. */
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /** SIGTERM and wait; the exit code (128+signal if killed), or -1 if it did not exit. */
    int stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    bool running();

    int port() const { return port_; }
    /** Listen on `port` (e.g. one already given to another process as a webhook URL) instead
     *  of a free port chosen by start(). */
    void use_port(int port) {
        port_ = port;
        port_reserved_ = true;
    }
    pid_t pid() const { return pid_; }
    std::string stderr_text() const;
    static constexpr const char* INTERNAL_SECRET = "test-internal-secret-0123456789abcdef";

private:
    std::string data_dir_;
    std::map<std::string, std::string> env_;
    std::vector<std::string> extra_args_;
    int port_ = 0;
    bool port_reserved_ = false;
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    std::string log_prefix_;
};

} // namespace cdn::test
