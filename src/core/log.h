#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace cdn::core {

struct LogConfig {
    /** Minimum level: trace, debug, info, warn, error. [log] level, default "info". */
    std::string level = "info";
    /** "json" (one object a line) or "text". [log] format, default "json". */
    std::string format = "json";
};

/** Sets up the process-wide logger (stderr). Call once at start-up. */
void init_logging(const LogConfig& config);

} // namespace cdn::core
