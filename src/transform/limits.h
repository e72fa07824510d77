#pragma once

#include <cstdint>

namespace cdn::transform {

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
    /** Transforms waiting for a slot at most; more are refused with 503 busy. A burst (a page's
     *  srcset) is queued whole; a queue that stands is cut short (next key). */
    std::uint64_t transform_queue = 64;
    /** Transforms of one customer waiting at most; more are refused with 503 busy. */
    std::uint64_t transform_queue_per_customer = 16;
    /** A queue that has held more jobs than there are workers for this long is standing: the
     *  node is overloaded, not absorbing a burst. Until it drains, only one job per worker may
     *  wait and the rest get 503 busy at once (CoDel's idea), so a served miss waits about one
     *  transform. 0 turns it off. */
    std::uint64_t transform_queue_standing_ms = 300;
    /** Bytes of originals held in memory for misses in flight (read, queued or being
     *  transformed); over it a miss is 503 busy, and one customer may hold half of it. At least
     *  2 × max_original_bytes; 0: no limit. Default 1 GB. */
    std::uint64_t originals_in_flight_bytes = 1'000'000'000;
};

} // namespace cdn::transform
