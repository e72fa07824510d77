#include "postgres_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "child_process.h"
#include "poll_until.h"

namespace cdn::test {
namespace {

const std::string PG_BIN = "/usr/lib/postgresql/15/bin/";
constexpr auto READY_TIMEOUT = std::chrono::seconds(30);
constexpr auto STOP_TIMEOUT = std::chrono::seconds(15);
constexpr int START_ATTEMPTS = 3;

bool running_as_root() { return ::geteuid() == 0; }

/** fork + exec, output appended to `log`; the exit code (128+signal if killed). */
int run(const std::vector<std::string>& args, const std::filesystem::path& log) {
    std::vector<char*> argv;
    for (const auto& arg : args) {
        argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    const std::string log_path = log.string();
    const pid_t child = ::fork();
    if (child == 0) {
        const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    if (child < 0 || ::waitpid(child, &status, 0) != child) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/** Alive and not a zombie waiting for init to reap it. */
bool process_alive(pid_t pid) {
    if (pid <= 0 || ::kill(pid, 0) != 0) {
        return false;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

/** The server could not listen on its port (another process took it since we picked it). Not
 *  any FATAL line: "the database system is starting up" is one, logged for our own pings. */
bool port_taken(const std::string& log) {
    return log.find("could not create any TCP/IP sockets") != std::string::npos ||
           log.find("Address already in use") != std::string::npos;
}

std::filesystem::path make_root() {
    const auto pattern = make_temp_folder("cdn-pg").string();
    if (running_as_root()) {
        const passwd* owner = ::getpwnam("postgres");
        if (owner == nullptr || ::chown(pattern.c_str(), owner->pw_uid, owner->pw_gid) != 0) {
            throw std::runtime_error("cannot give " + pattern + " to the postgres user");
        }
    }
    return pattern;
}

/** Stops the server (resumed if a test froze it, immediate shutdown, then SIGKILL) and removes
 *  the folder, when this process ends without doing it. */
constexpr const char* WATCHDOG_SCRIPT =
    "cat >/dev/null; pid=$(head -n1 \"$1/data/postmaster.pid\" 2>/dev/null); "
    "if [ -n \"$pid\" ]; then "
    "for p in \"$pid\" $(ps -o pid= --ppid \"$pid\"); do kill -CONT \"$p\"; done; "
    "kill -QUIT \"$pid\"; "
    "for i in $(seq 50); do kill -0 \"$pid\" 2>/dev/null || break; sleep 0.1; done; "
    "kill -KILL \"$pid\" 2>/dev/null; fi; rm -rf \"$1\"";

} // namespace

PostgresProcess::PostgresProcess(int port)
    : root_(make_root()), port_(port), port_given_(port != 0) {
    try {
        watchdog_ = std::make_unique<Watchdog>(WATCHDOG_SCRIPT, root_);
        run_as_owner("initdb", {PG_BIN + "initdb", "-D", (root_ / "data").string(), "-U",
                                "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "-N"});
        // Made by the owner: the server creates its socket in it.
        run_as_owner("mkdir", {"mkdir", "-m", "700", (root_ / "sock").string()});
        start();
    } catch (...) {
        stop();
        throw;
    }
}

PostgresProcess::~PostgresProcess() { stop(); }

PostgresProcess& PostgresProcess::shared() { return SharedServer<PostgresProcess>::get(); }

void PostgresProcess::run_as_owner(const std::string& what,
                                   const std::vector<std::string>& args) const {
    std::vector<std::string> argv;
    if (running_as_root()) {
        argv = {"runuser", "-u", "postgres", "--"};
    }
    argv.insert(argv.end(), args.begin(), args.end());
    if (run(argv, root_ / "commands.log") != 0) {
        throw std::runtime_error(what + " failed: " + read_file(root_ / "commands.log"));
    }
}

void PostgresProcess::start() {
    for (int attempt = 1; attempt <= START_ATTEMPTS; ++attempt) {
        port_ = port_given_ ? port_ : free_loopback_port();
        if (launch()) {
            return;
        }
        if (port_given_) {
            break; // the caller's port is taken: no other port will do
        }
        std::filesystem::remove(root_ / "server.log"); // the port was taken meanwhile
    }
    throw std::runtime_error("postgres did not start: no free port after " +
                             std::to_string(START_ATTEMPTS) + " attempts");
}

bool PostgresProcess::launch() {
    const auto log = root_ / "server.log";
    const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                                " -k " + (root_ / "sock").string() +
                                " -c fsync=off -c full_page_writes=off";
    // -W: pg_ctl returns at once; readiness is polled below through our own socket, which no other
    // server can answer.
    run_as_owner("pg_ctl start", {PG_BIN + "pg_ctl", "start", "-W", "-D", (root_ / "data").string(),
                                  "-l", log.string(), "-o", options});
    const std::string ping = "host=" + (root_ / "sock").string() +
                             " port=" + std::to_string(port_) + " user=postgres dbname=postgres";
    bool failed = false;
    const bool ready = poll_until(
        [&] {
            failed = port_taken(read_file(log));
            return failed || PQping(ping.c_str()) == PQPING_OK;
        },
        READY_TIMEOUT, std::chrono::milliseconds(20));
    if (ready && !failed) {
        pid_ = std::stoi(read_file(root_ / "data" / "postmaster.pid"));
        return true;
    }
    shut_down(); // a half-started server, if any
    if (!failed) {
        throw std::runtime_error("postgres did not start: " + read_file(log));
    }
    return false;
}

void PostgresProcess::start_again() {
    if (!launch()) {
        throw std::runtime_error("postgres could not listen on its port again: " +
                                 std::to_string(port_));
    }
}

void PostgresProcess::shut_down() {
    const auto pid_file = root_ / "data" / "postmaster.pid";
    if (pid_ == 0 && std::filesystem::exists(pid_file)) {
        pid_ = std::atoi(read_file(pid_file).c_str());
    }
    if (pid_ <= 0) {
        return;
    }
    thaw(); // a stopped server cannot shut down
    try {
        run_as_owner("pg_ctl stop",
                     {PG_BIN + "pg_ctl", "stop", "-D", (root_ / "data").string(), "-m", "fast",
                      "-w", "-t", std::to_string(STOP_TIMEOUT.count())});
    } catch (const std::exception&) {
        // Killed below by its pid.
    }
    if (!poll_until([&] { return !process_alive(pid_); }, STOP_TIMEOUT)) {
        ::kill(pid_, SIGKILL);
        poll_until([&] { return !process_alive(pid_); }, STOP_TIMEOUT);
    }
    pid_ = 0;
}

void PostgresProcess::stop() {
    if (root_.empty()) {
        return;
    }
    shut_down();
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
    root_.clear();
    if (watchdog_) {
        watchdog_->close();
    }
}

std::vector<pid_t> PostgresProcess::server_processes() const {
    std::vector<pid_t> pids;
    if (pid_ <= 0) {
        return pids;
    }
    pids.push_back(pid_);
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        // "pid (comm) state ppid ...": comm may hold spaces, so read after its ')'.
        const auto stat = read_file(entry.path() / "stat");
        const auto paren = stat.rfind(')');
        if (paren == std::string::npos) {
            continue;
        }
        std::istringstream fields(stat.substr(paren + 1));
        std::string state;
        pid_t parent = 0;
        fields >> state >> parent;
        if (parent == pid_) {
            pids.push_back(std::stoi(name));
        }
    }
    return pids;
}

void PostgresProcess::freeze() {
    for (const auto pid : server_processes()) {
        ::kill(pid, SIGSTOP);
    }
}

void PostgresProcess::thaw() {
    for (const auto pid : server_processes()) {
        ::kill(pid, SIGCONT);
    }
}

std::string PostgresProcess::create_database() {
    static std::atomic<unsigned> counter{0};
    std::random_device random;
    const std::string name = "t_" + std::to_string(random()) + "_" + std::to_string(++counter);
    const std::string conninfo =
        "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        throw std::runtime_error(std::string("connect: ") + PQerrorMessage(conn.get()));
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> created(
        PQexec(conn.get(), ("CREATE DATABASE " + name).c_str()), PQclear);
    if (PQresultStatus(created.get()) != PGRES_COMMAND_OK) {
        throw std::runtime_error(std::string("CREATE DATABASE: ") + PQerrorMessage(conn.get()));
    }
    return name;
}

std::string PostgresProcess::url(const std::string& database) const {
    return "postgres://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

} // namespace cdn::test
