#include "s3rver_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>
#include <stdexcept>

#include "poll_until.h"

namespace cdn::test {
namespace {

/** `node server.mjs bucket proxy_port s3rver_port directory`, stdin from `stdin_fd`, stdout and
 *  stderr to files. Everything is built before fork: nothing unsafe runs in the child of a
 *  threaded process. */
pid_t spawn_server(std::vector<std::string> args, int stdin_fd, const std::string& out_path,
                   const std::string& err_path) {
    // s3rver's ListObjectsV2 continuation tokens use DES, in OpenSSL 3's legacy provider.
    args.insert(args.begin(),
                {"node", "--openssl-legacy-provider", IMAGECDN_SOURCE_DIR "/tests/s3/server.mjs"});
    std::vector<char*> argv;
    for (auto& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const pid_t child = ::fork();
    if (child == 0) {
        const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(stdin_fd, STDIN_FILENO);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(err, STDERR_FILENO);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    return child;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

S3rverProcess::S3rverProcess(std::string bucket) : bucket_(std::move(bucket)) { start(0, 0); }

void S3rverProcess::restart() { start(proxy_port_, s3rver_port_); }

void S3rverProcess::start(int proxy_port, int s3rver_port) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe for s3rver");
    }
    const std::string out = logs_.path() + "/out";
    const std::string err = logs_.path() + "/err";
    ::unlink(out.c_str()); // a restart must not read the READY of the run before
    pid_ = spawn_server({bucket_, std::to_string(proxy_port), std::to_string(s3rver_port),
                         data_.path()},
                        pipe_fds[0], out, err);
    ::close(pipe_fds[0]);
    stdin_fd_ = pipe_fds[1];
    const bool ready = poll_until(
        [&] {
            std::istringstream line(read_all(out));
            std::string word;
            return (line >> word >> proxy_port_ >> s3rver_port_) && word == "READY";
        },
        std::chrono::seconds(30), std::chrono::milliseconds(50));
    if (!ready) {
        const std::string why = read_all(err);
        stop();
        throw std::runtime_error("s3rver did not start (npm ci --prefix tests/s3?): " + why);
    }
}

S3rverProcess::~S3rverProcess() { stop(); }

bool S3rverProcess::running() const {
    siginfo_t info{};
    return pid_ > 0 && ::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == 0;
}

void S3rverProcess::report_if_died() {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) {
        return; // still running, as it should be
    }
    // It ended on its own: every later store call of the test failed as "unavailable". Say why
    // (its stderr is in a temp folder removed with this object).
    std::cerr << "s3rver (pid " << pid_ << ") ended on its own ("
              << (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                      : "exit " + std::to_string(WEXITSTATUS(status)))
              << "); its stderr:\n"
              << read_all(logs_.path() + "/err") << std::endl;
    pid_ = 0;
}

void S3rverProcess::freeze() {
    if (pid_ > 0) {
        ::kill(pid_, SIGSTOP);
    }
}

void S3rverProcess::thaw() {
    if (pid_ > 0) {
        ::kill(pid_, SIGCONT);
    }
}

void S3rverProcess::stop() { end(SIGTERM); }

void S3rverProcess::kill() { end(SIGKILL); }

void S3rverProcess::end(int signal) {
    if (pid_ > 0) {
        report_if_died();
    }
    if (pid_ > 0) {
        thaw();
        ::kill(pid_, signal);
        ::waitpid(pid_, nullptr, 0);
        pid_ = 0;
    }
    if (stdin_fd_ >= 0) {
        ::close(stdin_fd_);
        stdin_fd_ = -1;
    }
}

} // namespace cdn::test
