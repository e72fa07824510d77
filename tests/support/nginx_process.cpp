#include "nginx_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "child_process.h"
#include "poll_until.h"
#include "raw_http.h"

namespace cdn::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* NGINX = "/usr/sbin/nginx";
constexpr int START_ATTEMPTS = 5;
constexpr auto READY_TIMEOUT = 10s;
/** Kills nginx (master first: the workers exit with it) and removes the folder. */
constexpr const char* WATCHDOG_SCRIPT =
    "cat >/dev/null; pid=$(cat \"$1/nginx.pid\" 2>/dev/null); "
    "if [ -n \"$pid\" ]; then kill -KILL \"$pid\"; fi; rm -rf \"$1\"";

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

std::vector<std::string> loopback(const std::vector<int>& ports) {
    std::vector<std::string> addresses;
    for (const int port : ports) {
        addresses.push_back("127.0.0.1:" + std::to_string(port));
    }
    return addresses;
}

std::string deploy_file(const char* name) {
    return read_text(std::filesystem::path(IMAGECDN_SOURCE_DIR) / "deploy" / "nginx" / name);
}

} // namespace

std::string render_nginx_template(const std::string& template_text, const std::string& listen,
                                  const std::vector<std::string>& edges,
                                  const std::vector<std::string>& api) {
    std::istringstream lines(template_text);
    std::string out;
    for (std::string line; std::getline(lines, line);) {
        const bool comment = line.find_first_not_of(" \t") != std::string::npos &&
                             line[line.find_first_not_of(" \t")] == '#';
        const bool edge_line = line.find("@EDGE@") != std::string::npos;
        if (!comment && (edge_line || line.find("@API@") != std::string::npos)) {
            for (const auto& address : edge_line ? edges : api) {
                auto copy = line;
                replace_all(copy, edge_line ? "@EDGE@" : "@API@", address);
                out += copy + "\n";
            }
            continue;
        }
        if (!comment) {
            replace_all(line, "@LISTEN@", listen);
        }
        out += line + "\n";
    }
    return out;
}

NginxProcess::NginxProcess(const std::vector<int>& edge_ports, const std::vector<int>& api_ports)
    : root_(make_temp_folder("imagecdn-nginx")),
      watchdog_(std::make_unique<Watchdog>(WATCHDOG_SCRIPT, root_)) {
    // As root, nginx's workers run as nobody: they must reach the temp folders nginx makes here.
    std::filesystem::permissions(root_, std::filesystem::perms::owner_all |
                                            std::filesystem::perms::group_exec |
                                            std::filesystem::perms::others_exec);
    for (int attempt = 0; attempt < START_ATTEMPTS; ++attempt) {
        port_ = free_loopback_port();
        if (launch(edge_ports, api_ports)) {
            return;
        }
    }
    throw std::runtime_error("nginx did not start: " + error_log() +
                             read_text(root_ / "stderr.log"));
}

NginxProcess::~NginxProcess() {
    stop();
    watchdog_->close();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
}

bool NginxProcess::launch(const std::vector<int>& edge_ports, const std::vector<int>& api_ports) {
    const auto dir = root_.string();
    std::ofstream(root_ / "imagecdn.conf")
        << render_nginx_template(deploy_file("imagecdn.conf.template"),
                                 "127.0.0.1:" + std::to_string(port_), loopback(edge_ports),
                                 loopback(api_ports));
    auto main_conf = deploy_file("standalone.conf.template");
    replace_all(main_conf, "@DIR@", dir);
    std::ofstream(root_ / "nginx.conf") << main_conf;
    const auto conf = dir + "/nginx.conf";
    const auto log = dir + "/stderr.log";
    const char* argv[] = {NGINX, "-p", dir.c_str(), "-c", conf.c_str(), "-g", "daemon off;",
                          nullptr};
    pid_ = ::fork();
    if (pid_ == 0) {
        const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(err, STDOUT_FILENO);
        ::dup2(err, STDERR_FILENO);
        ::execv(NGINX, const_cast<char* const*>(argv));
        ::_exit(127);
    }
    bool exited = false;
    const bool listening = poll_until(
        [&] {
            exited = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
            return exited || RawConnection(port_).connected();
        },
        READY_TIMEOUT, 20ms);
    if (listening && !exited) {
        return true;
    }
    if (!exited) {
        stop();
    }
    pid_ = 0;
    return false;
}

std::string NginxProcess::error_log() const { return read_text(root_ / "error.log"); }

void NginxProcess::stop() {
    if (pid_ <= 0) {
        return;
    }
    ::kill(pid_, SIGTERM); // nginx's fast shutdown
    if (!poll_until([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 10s, 10ms)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_ = 0;
}

} // namespace cdn::test
