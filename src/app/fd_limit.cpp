#include "app/fd_limit.h"

#include <sys/resource.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>

namespace cdn::app {
namespace {

constexpr std::uint64_t FD_RESERVE = 256;

/** The kernel's ceiling for RLIMIT_NOFILE when the hard limit says "unlimited". */
rlim_t nr_open() {
    std::ifstream in("/proc/sys/fs/nr_open");
    rlim_t value = 0;
    return in >> value ? value : 0;
}

} // namespace

std::uint64_t fd_reserve(std::uint64_t fd_limit) { return std::min(FD_RESERVE, fd_limit / 2); }

std::uint64_t raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return 0;
    }
    const auto wanted = limit.rlim_max == RLIM_INFINITY ? nr_open() : limit.rlim_max;
    if (wanted > limit.rlim_cur) {
        const rlimit raised{wanted, limit.rlim_max};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            limit.rlim_cur = wanted;
        } else {
            spdlog::warn("cannot raise the file-descriptor limit from {} to {}", limit.rlim_cur,
                         wanted);
        }
    }
    return limit.rlim_cur;
}

core::Result<void> fit_connections_to_fd_limit(Config& config, std::uint64_t fd_limit) {
    const auto reserve = fd_reserve(fd_limit);
    const auto room = fd_limit - reserve;
    auto& max_connections = config.server.max_connections;
    if (max_connections <= room) {
        return {};
    }
    if (config.configured.contains("server.max_connections")) {
        return core::make_field_error(
            core::Errc::InvalidSettings, "server.max_connections",
            fmt::format("server.max_connections: {} is more than the file-descriptor limit "
                        "allows ({} less {} kept for files and listeners = {}); raise the limit "
                        "(ulimit -n, systemd LimitNOFILE) or lower the value",
                        max_connections, fd_limit, reserve, room));
    }
    spdlog::warn("[server] max_connections lowered from {} to {} to fit the file-descriptor "
                 "limit {} (less {} kept for files and listeners)",
                 max_connections, room, fd_limit, reserve);
    max_connections = room;
    return {};
}

} // namespace cdn::app
