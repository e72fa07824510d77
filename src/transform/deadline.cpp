#include "transform/deadline.h"

#include <vips/vips.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace cdn::transform {

using Clock = std::chrono::steady_clock;

/**
 * One thread for the process that kills the jobs past their deadline, again every few
 * milliseconds until they end (a kill is consumed by the first region that sees it). Its mutex
 * also guards every guard's list of images.
 */
class Watchdog {
public:
    static Watchdog& instance() {
        // Never destroyed: its thread may outlive static destruction at exit.
        static auto* watchdog = new Watchdog();
        return *watchdog;
    }

    std::mutex mutex;

    void add(DeadlineGuard* guard) {
        {
            const std::lock_guard lock(mutex);
            guards_.insert(guard);
        }
        wake_.notify_one();
    }

    void remove(DeadlineGuard* guard) {
        const std::lock_guard lock(mutex);
        guards_.erase(guard);
    }

private:
    static constexpr auto REPEAT = std::chrono::milliseconds(10);

    Watchdog() { std::thread([this] { run(); }).detach(); }

    void run() {
        std::unique_lock lock(mutex);
        for (;;) {
            const auto now = Clock::now();
            auto next = Clock::time_point::max();
            for (auto* guard : guards_) {
                if (guard->deadline_ <= now) {
                    guard->kill_all();
                    next = std::min(next, now + REPEAT);
                } else {
                    next = std::min(next, guard->deadline_);
                }
            }
            if (next == Clock::time_point::max()) {
                wake_.wait(lock);
            } else {
                wake_.wait_until(lock, next);
            }
        }
    }

    std::condition_variable wake_;
    std::set<DeadlineGuard*> guards_;
};

core::Error timeout_error() {
    return core::make_error(core::Errc::TransformTimeout, "the transform took too long");
}

core::Result<void> check_deadline(Deadline deadline) {
    if (Clock::now() > deadline) {
        return timeout_error();
    }
    return {};
}

DeadlineGuard::DeadlineGuard(Deadline deadline) : deadline_(deadline) {
    Watchdog::instance().add(this);
}

DeadlineGuard::~DeadlineGuard() {
    Watchdog::instance().remove(this);
    for (auto* image : signalling_) {
        g_signal_handlers_disconnect_by_data(image, this);
        g_object_unref(image);
    }
}

core::Result<void> DeadlineGuard::check() {
    auto checked = check_deadline(deadline_);
    if (!checked) {
        fired_ = true;
    }
    return checked;
}

void DeadlineGuard::kill_all() {
    // The kill flag is a plain int libvips reads between regions: setting it from another
    // thread is how libvips expects a computation to be stopped.
    fired_ = true;
    for (auto* image : signalling_) {
        vips_image_set_kill(image, TRUE);
    }
}

void DeadlineGuard::on_eval(VipsImage* image, void* /*progress*/, void* self) {
    auto* guard = static_cast<DeadlineGuard*>(self);
    if (Clock::now() > guard->deadline_) {
        guard->fired_ = true;
        vips_image_set_kill(image, TRUE);
    }
}

void DeadlineGuard::watch(VipsImage* image) {
    // libvips signals progress on the most-downstream image marked for it, which images built
    // from it inherit: watch that one, once.
    vips_image_set_progress(image, TRUE);
    VipsImage* signalling = image->progress_signal;
    const std::lock_guard lock(Watchdog::instance().mutex);
    if (std::find(signalling_.begin(), signalling_.end(), signalling) != signalling_.end()) {
        return;
    }
    g_object_ref(signalling);
    signalling_.push_back(signalling);
    g_signal_connect(signalling, "eval", G_CALLBACK(on_eval), this);
}

} // namespace cdn::transform
