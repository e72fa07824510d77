#pragma once

#include <atomic>
#include <chrono>
#include <vector>

#include "core/result.h"

typedef struct _VipsImage VipsImage;

namespace cdn::transform {

using Deadline = std::chrono::steady_clock::time_point;

/** 503 transform_timeout. */
core::Error timeout_error();

/** transform_timeout once `deadline` has passed; for steps libvips does not evaluate. */
core::Result<void> check_deadline(Deadline deadline);

/**
 * Kills every libvips computation of a watched image, and of the images built from it, once the
 * deadline passes. Two triggers set libvips' kill flag, which every region of those images
 * checks before it computes (so a job stops within one tile of input, whatever its output):
 * the "eval" signal libvips emits after each output tile, and a watchdog thread at the
 * deadline, for computations with few output tiles (a small thumbnail of a large SVG pulls all
 * its input through one output tile). Images built from a watched one inherit the watch until a
 * copy to memory starts a new chain, so every image a step evaluates must be watched (cheap and
 * idempotent). Watched images are kept alive until the guard ends.
 */
class DeadlineGuard {
public:
    explicit DeadlineGuard(Deadline deadline);
    ~DeadlineGuard();
    DeadlineGuard(const DeadlineGuard&) = delete;
    DeadlineGuard& operator=(const DeadlineGuard&) = delete;

    void watch(VipsImage* image);
    Deadline deadline() const { return deadline_; }
    /** True once a computation was killed, or a check found the deadline past. */
    bool fired() const { return fired_; }
    /** check_deadline, remembering that it fired. */
    core::Result<void> check();

private:
    friend class Watchdog;
    static void on_eval(VipsImage* image, void* progress, void* self);
    /** Sets the kill flag of every watched image; the watchdog's lock is held. */
    void kill_all();

    Deadline deadline_;
    std::atomic<bool> fired_ = false;
    /** The images progress is signalled on (libvips' progress_signal), each referenced. */
    std::vector<VipsImage*> signalling_;
};

} // namespace cdn::transform
