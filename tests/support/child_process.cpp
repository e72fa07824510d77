#include "child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace cdn::test {

int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool bound = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    if (fd >= 0) {
        ::close(fd);
    }
    if (!bound) {
        throw std::runtime_error("no free loopback port");
    }
    return ntohs(addr.sin_port);
}

std::filesystem::path make_temp_folder(const std::string& name) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/" + name + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed for " + name);
    }
    return pattern;
}

Watchdog::Watchdog(const char* script, const std::filesystem::path& folder) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe for a watchdog");
    }
    const std::string path = folder.string();
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(fds[0], STDIN_FILENO);
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        ::execl("/bin/sh", "sh", "-c", script, "watchdog", path.c_str(), nullptr);
        ::_exit(127);
    }
    ::close(fds[0]);
    fd_ = fds[1]; // close-on-exec: no other child holds it
}

void Watchdog::close() {
    if (fd_ >= 0) {
        ::close(fd_); // the watchdog finds nothing left to do and exits
        ::waitpid(pid_, nullptr, 0);
        fd_ = -1;
    }
}

} // namespace cdn::test
