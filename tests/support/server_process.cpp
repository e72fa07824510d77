#include "server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string_view>
#include <sstream>

#include <gtest/gtest.h>

#include "poll_until.h"
#include "postgres_process.h"
#include "raw_http.h"

namespace cdn::test {
namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/** fork + exec with stdout/stderr to files; the child gets the parent's env plus `env`. */
pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& out_path, const std::string& err_path) {
    const pid_t pid = ::fork();
    if (pid != 0) {
        return pid;
    }
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    for (const auto& [name, value] : env) {
        ::setenv(name.c_str(), value.c_str(), 1);
    }
    std::vector<char*> argv;
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
}

/** `env` with IMAGECDN_DATABASE_URL set to the test database of `data_dir`, unless it names
 *  one already or the tests run on the embedded database. */
std::map<std::string, std::string> with_test_database(std::map<std::string, std::string> env,
                                                      const std::string& data_dir) {
    if (env.count("IMAGECDN_DATABASE_URL") == 0) {
        if (auto url = test_database_url(data_dir); !url.empty()) {
            env.emplace("IMAGECDN_DATABASE_URL", std::move(url));
        }
    }
    return env;
}

/** The value following `--data-dir` in `args`; empty when there is none. */
std::string data_dir_argument(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "--data-dir") {
            return args[i + 1];
        }
    }
    return {};
}

int exit_code_of(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + WTERMSIG(status);
}

} // namespace

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
    int status = 0;
    if (!poll_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout)) {
        return std::nullopt;
    }
    return exit_code_of(status);
}

std::string test_database_url(const std::string& data_dir) {
    const char* engine = std::getenv("CDN_TEST_DATABASE");
    if (engine == nullptr || std::string_view(engine) != "postgres" || data_dir.empty()) {
        return {};
    }
    static std::mutex mutex;
    static std::map<std::string, std::string> url_by_data_dir;
    const std::lock_guard lock(mutex);
    auto& url = url_by_data_dir[std::filesystem::weakly_canonical(data_dir).string()];
    if (url.empty()) {
        auto& postgres = PostgresProcess::shared();
        url = postgres.url(postgres.create_database());
    }
    return url;
}

std::string imagecdn_binary() {
    const char* bin = std::getenv("CDN_BIN");
    return bin != nullptr ? bin : IMAGECDN_TEST_BINARY;
}

CommandResult run_imagecdn(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env) {
    TempDir logs;
    std::vector<std::string> argv{imagecdn_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto out = logs.path() + "/out";
    const auto err = logs.path() + "/err";
    const pid_t pid = spawn(argv, with_test_database(env, data_dir_argument(args)), out, err);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return CommandResult{exit_code_of(status), read_file(out), read_file(err)};
}

ServerProcess::ServerProcess(std::string data_dir, std::map<std::string, std::string> env,
                             std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), env_(with_test_database(std::move(env), data_dir_)),
      extra_args_(std::move(extra_args)) {
    env_.emplace("IMAGECDN_AUTH_INTERNAL_SECRET", INTERNAL_SECRET);
    env_.emplace("IMAGECDN_LOG_LEVEL", "info");
    log_prefix_ = data_dir_ + ".server";
}

namespace {

// In the sanitizer build (scripts/test.sh --sanitize) a server is stopped, not killed, so that
// LeakSanitizer runs at its exit, and a report in its stderr fails the test that started it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool SANITIZED = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool SANITIZED = true;
#else
constexpr bool SANITIZED = false;
#endif
#else
constexpr bool SANITIZED = false;
#endif

bool has_sanitizer_report(const std::string& err) {
    return err.find("ERROR: AddressSanitizer") != std::string::npos ||
           err.find("ERROR: LeakSanitizer") != std::string::npos ||
           err.find("runtime error:") != std::string::npos;
}

} // namespace

ServerProcess::~ServerProcess() {
    if (pid_ > 0 && running()) {
        if (SANITIZED) {
            stop();
        } else {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    if (const auto err = SANITIZED ? stderr_text() : std::string(); has_sanitizer_report(err)) {
        ADD_FAILURE() << "the server's sanitizer report:\n" << err;
    }
    std::error_code ec;
    std::filesystem::remove(log_prefix_ + ".out", ec);
    std::filesystem::remove(log_prefix_ + ".err", ec);
}

bool ServerProcess::start(std::chrono::milliseconds timeout) {
    if (!port_reserved_) {
        port_ = free_port();
    }
    std::vector<std::string> args{imagecdn_binary(), "serve", "--data-dir", data_dir_, "--listen",
                                  "127.0.0.1:" + std::to_string(port_)};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    pid_ = spawn(args, env_, log_prefix_ + ".out", log_prefix_ + ".err");
    bool healthy = false;
    poll_until(
        [&] {
            if (!running()) {
                return true; // exited: nothing more to wait for
            }
            const auto res = http_request(port_, "GET", "/healthz");
            healthy = res && res->status == 200;
            return healthy;
        },
        timeout, std::chrono::milliseconds(50));
    return healthy;
}

bool ServerProcess::running() {
    if (pid_ <= 0) {
        return false;
    }
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        exit_code_ = exit_code_of(status);
        pid_ = -1;
        return false;
    }
    return r == 0;
}

int ServerProcess::stop(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) {
        return exit_code_.value_or(-1);
    }
    ::kill(pid_, SIGTERM);
    const auto code = wait_for_exit(pid_, timeout);
    if (!code) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
    return code.value_or(-1);
}

std::string ServerProcess::stderr_text() const { return read_file(log_prefix_ + ".err"); }

CommandResult run_imagecdn_on(const std::string& data_dir, std::vector<std::string> args) {
    args.push_back("--data-dir");
    args.push_back(data_dir);
    return run_imagecdn(args);
}

std::optional<double> scrape_metric(int port, const std::string& name_and_labels) {
    const auto res =
        http_request(port, "GET", "/metrics",
                     {{"Authorization", std::string("Bearer ") + ServerProcess::INTERNAL_SECRET}});
    EXPECT_TRUE(res && res->status == 200) << "GET /metrics on port " << port;
    const auto at = res ? res->body.find("\n" + name_and_labels + " ") : std::string::npos;
    if (at == std::string::npos) {
        return std::nullopt;
    }
    return std::stod(res->body.substr(at + name_and_labels.size() + 2));
}

} // namespace cdn::test
