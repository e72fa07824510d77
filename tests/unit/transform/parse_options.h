#pragma once

// Shared by the option parser's tests: parameters as a test writes them, parsed with a fixed
// maximum dimension.
#include <string>
#include <utility>
#include <vector>

#include "transform/options.h"

namespace cdn::transform::testing_support {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::uint32_t MAX_DIMENSION = 8192;

inline core::Result<DeliveryOptions> parse(const Params& params) {
    return parse_delivery_options(params, MAX_DIMENSION);
}

} // namespace cdn::transform::testing_support
