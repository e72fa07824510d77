#pragma once

#include "api/images/originals.h"

#include <cstdint>

#include "app/config.h"
#include "app/stores.h"
#include "core/result.h"

namespace cdn::app {

/** Creates (once) the demo customer and its sample images, then prints URLs to try. */
core::Result<void> ensure_demo(Stores& stores, const Config& config, std::uint16_t port,
                               api::images::Originals& originals);

} // namespace cdn::app
