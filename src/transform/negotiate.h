#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "transform/options.h"
#include "transform/spec.h"

namespace cdn::transform {

/** What the request's headers say about the client. */
struct ClientHints {
    std::string_view accept;
    /** Sec-CH-DPR or DPR, and the header it came from. */
    std::optional<std::string_view> dpr;
    std::string_view dpr_header;
    /** Sec-CH-Width or Width, and the header it came from. */
    std::optional<std::string_view> width;
    std::string_view width_header;
};

/** What the customer's plan and settings allow and prefer. */
struct CustomerPolicy {
    bool avif_allowed = false;
    std::uint32_t max_dimension = 2048;
    std::optional<std::uint32_t> default_quality;
    std::optional<RequestedFormat> default_format;
};

struct Negotiated {
    TransformSpec spec;
    /** Request headers the answer depends on, for the Vary header. */
    std::vector<std::string> vary;
};

/**
 * Turns validated options into the spec to run: client hints (only when no dpr/width option
 * says otherwise), dpr folded into the box and capped at the plan's max dimension, plan gates
 * (403 feature_not_in_plan for explicit AVIF, 400 dimension_too_large), `format=auto` from the
 * Accept header, customer defaults. A `quality` equal to the default of the format the URL
 * names (`format`, else the path's extension, since the original is not read yet) is left out,
 * so that spelling out the default gives the same spec and cache key as leaving it out.
 */
core::Result<Negotiated> negotiate(const DeliveryOptions& options, const ClientHints& hints,
                                   const CustomerPolicy& policy, std::string_view path = {});

} // namespace cdn::transform
