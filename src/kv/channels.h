#pragma once

#include <string_view>

namespace cdn::kv {

/** Pub/sub channel announcing a customer config change: the message is the customer's public
 *  key, or "*" for every customer. Every edge node drops what it cached. The store adds
 *  `[kv] prefix`: on Redis, by default, `imagecdn:config`. */
inline constexpr std::string_view CONFIG_CHANNEL = "config";
inline constexpr std::string_view ALL_CUSTOMERS = "*";

} // namespace cdn::kv
