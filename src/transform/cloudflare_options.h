#pragma once

#include <string_view>

#include "core/result.h"
#include "core/strings.h"

namespace cdn::transform {

/**
 * The options segment of Cloudflare's URL format (`/cdn-cgi/image/<options>/<source>`), as our
 * query form would say it: the same DeliveryOptions, so the same cache key, follow from both.
 */
struct CloudflareOptions {
    /** Canonical query parameters (`width=640`, `quality=80`), in the order given. */
    core::QueryParams params;
    /** `onerror=redirect`: a transform error is answered with a redirect to the original. */
    bool redirect_on_error = false;
};

/** `high`, `medium-high`, `medium-low`, `low`: Cloudflare's perceptual quality levels as the
 *  encoder quality they stand for (its documented useful range is 50 low … 90 high). */
inline constexpr unsigned QUALITY_HIGH = 90;
inline constexpr unsigned QUALITY_MEDIUM_HIGH = 80;
inline constexpr unsigned QUALITY_MEDIUM_LOW = 65;
inline constexpr unsigned QUALITY_LOW = 50;

/**
 * Translates Cloudflare's comma-separated `key=value` options (still percent-encoded, as in the
 * path) into canonical query parameters, with no I/O. Values are not range-checked here: the
 * query form's parser does that, so both forms answer the same errors for the same values.
 * Errors: unknown_parameter naming a name Cloudflare does not have; unsupported_parameter naming
 * a Cloudflare option or value this service does not implement, and why; invalid_parameter for
 * a malformed pair or a value Cloudflare does not have either.
 */
core::Result<CloudflareOptions> translate_cloudflare_options(std::string_view options);

} // namespace cdn::transform
