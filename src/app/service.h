#pragma once

#include "app/config.h"
#include "core/result.h"

namespace cdn::app {

/** Which routes a node serves: the edge (`/{public_key}/...`), the API (`/api/v1`,
 *  `/internal/v1`), or both. */
enum class Role { All, Edge, Api };

/** `imagecdn serve`: builds every component from the config, in dependency order, runs the
 *  server until SIGTERM/SIGINT, drains, and returns the process exit code. A split role
 *  (edge or api) refuses to start without a configured internal secret: its peers must share
 *  it, so a generated one cannot work. */
int run_service(const Config& config, bool with_demo, Role role = Role::All);

} // namespace cdn::app
