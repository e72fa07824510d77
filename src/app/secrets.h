#pragma once

#include <string>

#include "core/result.h"

namespace cdn::app {

/** Creates the data directory (and missing parents) if it does not exist; the directory itself
 *  mode 0700, since it holds the secrets, the database and every customer's originals. An
 *  existing directory is left as the operator made it. Internal error when it cannot be made. */
core::Result<void> create_data_dir(const std::string& data_dir);

/**
 * The secret kept in `{data_dir}/{name}` (mode 0600), generated on first use, so that a restart
 * keeps issued tokens valid without any configuration. A new secret is written to a temporary
 * file (O_CREAT|O_EXCL|O_NOFOLLOW), fsynced and renamed into place without replacing one another
 * process made meanwhile, then the directory is fsynced.
 * @return Forbidden naming the file when it is readable or writable by group or others, is not
 *         a regular file (a symlink included), or holds fewer than 32 bytes; Internal when it
 *         cannot be read or written
 */
core::Result<std::string> load_or_create_secret(const std::string& data_dir, const std::string& name);

} // namespace cdn::app
