#pragma once

#include <cstdint>

#include "app/config.h"
#include "core/result.h"

namespace cdn::app {

/** File descriptors kept back from [server] max_connections for everything else the process
 *  opens: database, originals and cache files (one per blocking-pool thread at a time),
 *  listeners, the metrics listener, logs, Stripe calls. Half the limit when that is smaller. */
std::uint64_t fd_reserve(std::uint64_t fd_limit);

/** Raises the soft RLIMIT_NOFILE to the hard limit (a stock Debian box starts at 1024);
 *  returns the soft limit now in force. */
std::uint64_t raise_fd_limit();

/**
 * Fits [server] max_connections within `fd_limit` less fd_reserve(): a configured value
 * above that is an error naming `server.max_connections`; the default is lowered, with a log
 * line.
 */
core::Result<void> fit_connections_to_fd_limit(Config& config, std::uint64_t fd_limit);

} // namespace cdn::app
