#include "app/pid_file.h"

#include <csignal>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include <spdlog/spdlog.h>

namespace cdn::app {
namespace {

namespace fs = std::filesystem;

std::string pid_path(const std::string& data_dir) { return data_dir + "/imagecdn.pid"; }

std::optional<pid_t> read_pid(const std::string& path) {
    std::ifstream in(path);
    long pid = 0;
    if (!(in >> pid) || pid <= 1) {
        return std::nullopt;
    }
    return static_cast<pid_t>(pid);
}

std::optional<fs::path> executable_of(const std::string& proc_entry) {
    std::error_code ec;
    auto target = fs::read_symlink(proc_entry, ec);
    return ec ? std::nullopt : std::optional(target);
}

} // namespace

PidFile::PidFile(const std::string& data_dir) : path_(pid_path(data_dir)) {
    std::ofstream out(path_, std::ios::trunc);
    out << ::getpid() << "\n";
    if (!out) {
        spdlog::warn("cannot write {}: the operator CLI cannot notify this server", path_);
    }
}

PidFile::~PidFile() {
    if (read_pid(path_) == ::getpid()) {
        std::error_code ec;
        fs::remove(path_, ec);
    }
}

bool notify_running_server(const std::string& data_dir) {
    const auto pid = read_pid(pid_path(data_dir));
    if (!pid) {
        return false;
    }
    const auto theirs = executable_of("/proc/" + std::to_string(*pid) + "/exe");
    const auto ours = executable_of("/proc/self/exe");
    if (!theirs || !ours || *theirs != *ours) {
        return false;
    }
    return ::kill(*pid, SIGHUP) == 0;
}

} // namespace cdn::app
