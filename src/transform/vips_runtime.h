#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace cdn::transform {

/**
 * Starts libvips once per process with the settings of an image server: operation cache off,
 * one libvips thread per transform, every loader blocked except those of delivery.md's input
 * formats. Call before any other transform function; not thread-safe.
 */
core::Result<void> init_vips(const char* argv0);

/** Ends a libvips job on the calling thread: clears the error buffer and per-thread state. */
void end_vips_job();

/** Generated sample images for the demo customer: {name, bytes}. */
std::vector<std::pair<std::string, std::string>> demo_images();

} // namespace cdn::transform
