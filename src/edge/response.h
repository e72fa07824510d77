#pragma once

#include <chrono>
#include <string>

#include "cache/cached_variant.h"
#include "cache/status.h"
#include "core/error.h"
#include "http/message.h"

namespace cdn::edge {

/**
 * Every header the edge answers with is written in response.cpp: a variant's own headers (once,
 * when it is made), an answer with a variant (200, 304, a cached 404) and a refusal.
 */

/** The header lines of a 200 answer that depend only on the variant, built once when the
 *  variant is made so that a hit formats nothing (CachedVariant::response_headers). */
std::string variant_header_block(const cache::CachedVariant& variant);

/** What an answer with a variant says besides the variant itself. */
struct VariantAnswer {
    cache::Status cache_status = cache::Status::Miss;
    /** The Vary value; empty for none. */
    std::string vary;
    /** Cache-Control of a 200 (a cached 404 has its own). */
    std::string cache_control;
    /** Access-Control-Allow-Origin of a 200; empty for none. */
    std::string allow_origin;
    /** Server-Timing; empty for none. */
    std::string server_timing;
    /** Accept-CH (imgix `ch=`); empty for none. */
    std::string accept_ch;
};

/** The answer for a variant: shared body and header block, 304 on a matching If-None-Match. */
http::Response variant_response(const http::Request& request, const cache::VariantPtr& variant,
                                VariantAnswer answer);

/** What a refusal says besides its error. */
struct Refusal {
    /** Retry-After of a rate-limited request. */
    std::chrono::milliseconds retry_after{0};
    /** The Vary value; empty for none. */
    std::string vary;
};

/** The error answer of a refused or failed request. */
http::Response refusal_response(const core::Error& error, const Refusal& refusal);

/** 302 to `location` (a path on the same host), never cached. */
http::Response redirect_response(std::string location);

/** 405 for a method other than GET and HEAD. */
http::Response method_not_allowed();

} // namespace cdn::edge
