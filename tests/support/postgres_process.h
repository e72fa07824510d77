#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace cdn::test {

class Watchdog;

/**
 * A private PostgreSQL 15 server for tests (Debian's postgresql-15): `initdb` into a fresh temp
 * folder, `pg_ctl start` on a free 127.0.0.1 port with its socket in that folder, stopped by its
 * pid and the folder removed on destruction. Never the system service, never a fixed port.
 * As root every command runs as the `postgres` user (initdb refuses root). The superuser is
 * `postgres` with trust authentication on loopback only. A watchdog child stops the server and
 * removes the folder if this process dies without running the destructor.
 */
class PostgresProcess {
public:
    /** Starts the server and waits (polling, with a deadline) until it accepts connections;
     *  throws std::runtime_error naming the failed step otherwise. It listens on `port`, or on
     *  a free port if 0 (a given port is tried once: if it is taken, that throws). */
    explicit PostgresProcess(int port = 0);
    ~PostgresProcess();
    PostgresProcess(const PostgresProcess&) = delete;
    PostgresProcess& operator=(const PostgresProcess&) = delete;

    /** The one server of this test binary, started on first use and stopped by the GoogleTest
     *  environment registered in postgres_process.cpp when the tests end. */
    static PostgresProcess& shared();

    /** Creates an empty database `t_<random>` and returns its name. */
    std::string create_database();
    /** `postgres://postgres@127.0.0.1:<port>/<database>`. */
    std::string url(const std::string& database) const;

    int port() const { return port_; }
    /** The postmaster's pid. */
    pid_t pid() const { return pid_; }
    /** Stops the server (pg_ctl stop -m fast, then SIGKILL if it lingers); idempotent. */
    void stop();

    /** Stops the server but keeps its data and port, for start_again(): a database outage. */
    void shut_down();
    /** Starts the server shut_down() stopped, on the same data directory and port; waits until it
     *  accepts connections (throws std::runtime_error if it does not). */
    void start_again();
    /** SIGSTOP to the postmaster and every server process: connections are accepted by the kernel
     *  but nothing answers, like a hung host. thaw() (or the destructor) resumes them. */
    void freeze();
    void thaw();

private:
    void start();
    /** pg_ctl start on port_, then waits until it accepts connections: false when the port was
     *  taken meanwhile, throws when it does not start for another reason. */
    bool launch();
    /** The postmaster and its children. */
    std::vector<pid_t> server_processes() const;
    void run_as_owner(const std::string& what, const std::vector<std::string>& args) const;

    std::filesystem::path root_;
    int port_ = 0;
    bool port_given_ = false;
    pid_t pid_ = 0;
    std::unique_ptr<Watchdog> watchdog_;
};

} // namespace cdn::test
