#include "kv/local_channels.h"

#include <algorithm>

namespace cdn::kv {

// One handler. `running` is held while it runs, so unsubscribing waits for a call in progress
// on another thread; it is recursive so a handler may drop its own subscription.
struct LocalChannels::Handler {
    MessageHandler call;
    std::recursive_mutex running;
    bool active = true; // guarded by `running`
};

std::shared_ptr<LocalChannels> LocalChannels::create(std::function<void()> on_change) {
    return std::shared_ptr<LocalChannels>(new LocalChannels(std::move(on_change)));
}

void LocalChannels::deliver(std::string_view channel, std::string_view message) {
    std::vector<std::shared_ptr<Handler>> targets;
    {
        const std::lock_guard lock(mutex_);
        if (const auto it = handlers_.find(channel); it != handlers_.end()) {
            targets = it->second;
        }
    }
    for (const auto& handler : targets) {
        const std::lock_guard running(handler->running);
        if (handler->active) {
            handler->call(message);
        }
    }
}

Subscription LocalChannels::add(std::string channel, MessageHandler call) {
    auto handler = std::make_shared<Handler>();
    handler->call = std::move(call);
    {
        const std::lock_guard lock(mutex_);
        auto& list = handlers_[channel];
        list.push_back(handler);
        if (list.size() == 1 && on_change_) {
            on_change_();
        }
    }
    std::weak_ptr<LocalChannels> channels = weak_from_this();
    return Subscription([channels, channel = std::move(channel), handler] {
        {
            const std::lock_guard running(handler->running);
            handler->active = false;
        }
        if (auto live = channels.lock()) {
            live->remove(channel, handler.get());
        }
    });
}

void LocalChannels::remove(std::string_view channel, const Handler* handler) {
    const std::lock_guard lock(mutex_);
    const auto it = handlers_.find(channel);
    if (it == handlers_.end()) {
        return;
    }
    std::erase_if(it->second, [&](const auto& h) { return h.get() == handler; });
    if (it->second.empty()) {
        handlers_.erase(it);
        if (on_change_) {
            on_change_();
        }
    }
}

std::vector<std::string> LocalChannels::channels() const {
    const std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    names.reserve(handlers_.size());
    for (const auto& [name, list] : handlers_) {
        names.push_back(name);
    }
    return names;
}

void LocalChannels::forget_on_change() {
    const std::lock_guard lock(mutex_);
    on_change_ = nullptr;
}

} // namespace cdn::kv
