#include "transform/deadline.h"

#include <vips/vips.h>

namespace cdn::transform {

core::Error timeout_error() {
    return core::make_error(core::Errc::TransformTimeout, "the transform took too long");
}

core::Result<void> check_deadline(Deadline deadline) {
    if (std::chrono::steady_clock::now() > deadline) {
        return timeout_error();
    }
    return {};
}

core::Result<void> DeadlineGuard::check() {
    auto checked = check_deadline(deadline_);
    fired_ = fired_ || !checked;
    return checked;
}

void DeadlineGuard::on_eval(VipsImage* image, void* /*progress*/, void* self) {
    auto* guard = static_cast<DeadlineGuard*>(self);
    if (std::chrono::steady_clock::now() > guard->deadline_) {
        guard->fired_ = true;
        vips_image_set_kill(image, TRUE);
    }
}

void DeadlineGuard::watch(VipsImage* image) {
    // libvips signals progress on the most-downstream image marked for it, which images built
    // from it inherit: connect to that one, once.
    vips_image_set_progress(image, TRUE);
    VipsImage* signalling = image->progress_signal;
    const auto connected = g_signal_handler_find(
        signalling, static_cast<GSignalMatchType>(G_SIGNAL_MATCH_FUNC | G_SIGNAL_MATCH_DATA), 0, 0,
        nullptr, reinterpret_cast<gpointer>(&DeadlineGuard::on_eval), this);
    if (connected == 0) {
        g_signal_connect(signalling, "eval", G_CALLBACK(on_eval), this);
    }
}

} // namespace cdn::transform
