#pragma once

#include <cstdint>
#include <limits>

namespace cdn::transform {

/** transform_queue's default: as many waiting jobs as there are transform workers (at least
 *  two, so that one worker is never left idle between a job's end and the next arrival). */
inline constexpr std::uint64_t QUEUE_ONE_PER_WORKER = std::numeric_limits<std::uint64_t>::max();

/** [limits] section: server-wide hard limits of delivery.md; plans may only lower them. */
struct Limits {
    /** Largest original read for a transform, bytes. Default 100 MB. */
    std::uint64_t max_original_bytes = 100'000'000;
    /** Largest width × height of an original, read from its header before decoding. */
    std::uint64_t max_original_pixels = 100'000'000;
    /** Largest output width or height. */
    std::uint64_t max_output_dimension = 8192;
    /** Largest output width × height after the fit, for every transform (a format change
     *  without resizing included): 400 dimension_too_large before any decode. 40 MP. */
    std::uint64_t max_output_pixels = 40'000'000;
    /** Most animation frames decoded (and frames × pixels ≤ 2 × max_original_pixels). */
    std::uint64_t max_frames = 200;
    /** Pixel limit for progressive JPEG / interlaced PNG, which cannot shrink on load. */
    std::uint64_t progressive_max_pixels = 30'000'000;
    /** A transform running longer is killed: 503 transform_timeout. */
    std::uint64_t transform_timeout_ms = 30'000;
    /** Transforms running at once; 0 means 2 × cores. */
    std::uint64_t max_concurrent_transforms = 0;
    /** Transforms waiting for a slot at most; more are refused with 503 busy. By default
     *  one per worker: a served miss then waits about one transform for its worker at most,
     *  so its latency stays within ~2× an unloaded one however many ask (docs/perf.md). */
    std::uint64_t transform_queue = QUEUE_ONE_PER_WORKER;
    /** Transforms of one customer waiting at most; more are refused with 503 busy. */
    std::uint64_t transform_queue_per_customer = 16;
};

} // namespace cdn::transform
