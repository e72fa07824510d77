#pragma once

#include "app/config.h"
#include "core/result.h"

namespace cdn::app {

/** `imagecdn serve`: builds every component from the config, in dependency order, runs the
 *  server until SIGTERM/SIGINT, drains, and returns the process exit code. */
int run_service(const Config& config, bool with_demo);

} // namespace cdn::app
