#pragma once

#include <chrono>

#include "core/result.h"

typedef struct _VipsImage VipsImage;

namespace cdn::transform {

using Deadline = std::chrono::steady_clock::time_point;

/** 503 transform_timeout. */
core::Error timeout_error();

/** transform_timeout once `deadline` has passed; for steps libvips does not evaluate. */
core::Result<void> check_deadline(Deadline deadline);

/**
 * Kills every libvips evaluation of a watched image, and of the images built from it, once the
 * deadline passes: libvips emits "eval" after each tile, and a region of a killed image fails
 * to compute. Images built from a watched one inherit the watch until a copy to memory breaks
 * the chain, so every image a step evaluates must be watched (watch() is cheap and idempotent).
 * Must outlive the images it watches.
 */
class DeadlineGuard {
public:
    explicit DeadlineGuard(Deadline deadline) : deadline_(deadline) {}
    DeadlineGuard(const DeadlineGuard&) = delete;
    DeadlineGuard& operator=(const DeadlineGuard&) = delete;

    void watch(VipsImage* image);
    Deadline deadline() const { return deadline_; }
    /** True once an evaluation was killed, or a check found the deadline past. */
    bool fired() const { return fired_; }
    /** check_deadline, remembering that it fired. */
    core::Result<void> check();

private:
    static void on_eval(VipsImage* image, void* progress, void* self);

    Deadline deadline_;
    bool fired_ = false;
};

} // namespace cdn::transform
