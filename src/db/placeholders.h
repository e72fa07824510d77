#pragma once

#include <cstddef>
#include <string_view>

#include "core/result.h"

namespace cdn::db {

/**
 * Checks that `sql` uses exactly the placeholders `$1..$count`, each at least once, as SQLite's
 * binder does; PostgreSQL alone would accept unused values silently. `$N` inside string
 * literals, quoted identifiers, comments and dollar-quoted bodies does not count.
 * @return Errc::Internal (a mistake in the calling code) naming the first missing placeholder.
 */
core::Result<void> check_placeholders(std::string_view sql, std::size_t count);

} // namespace cdn::db
