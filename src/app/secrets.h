#pragma once

#include <string>

#include "core/result.h"

namespace cdn::app {

/** The secret kept in `{data_dir}/{name}` (mode 0600), generated on first use, so that a
 *  restart keeps issued tokens valid without any configuration. */
core::Result<std::string> load_or_create_secret(const std::string& data_dir, const std::string& name);

} // namespace cdn::app
