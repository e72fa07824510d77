#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kv/kv_store.h"

namespace cdn::kv {

/**
 * This process's pub/sub handlers by channel, shared by both backends: MemoryKvStore delivers
 * to them on the publisher's thread, RedisKvStore on its subscriber thread. Handlers run
 * without the registry's lock, so they may publish or (un)subscribe themselves; a Subscription
 * reset waits for a call of its handler in progress and keeps it from running again.
 * Created with create(): the Subscriptions it hands out hold it weakly, so they may outlive it.
 */
class LocalChannels : public std::enable_shared_from_this<LocalChannels> {
public:
    /** @param on_change called, under the registry's lock, after a channel gains its first
     *  handler or loses its last one: it must be short and must not call back. */
    static std::shared_ptr<LocalChannels> create(std::function<void()> on_change = {});

    /** Calls every handler of `channel` with `message`. */
    void deliver(std::string_view channel, std::string_view message);
    Subscription add(std::string channel, MessageHandler handler);
    /** The channels that have at least one handler. */
    std::vector<std::string> channels() const;
    /** Stops calling on_change (the owner is going away). */
    void forget_on_change();

private:
    struct Handler;
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };

    explicit LocalChannels(std::function<void()> on_change) : on_change_(std::move(on_change)) {}
    void remove(std::string_view channel, const Handler* handler);

    mutable std::mutex mutex_;
    std::function<void()> on_change_; // guarded by mutex_
    std::unordered_map<std::string, std::vector<std::shared_ptr<Handler>>, StringHash,
                       std::equal_to<>>
        handlers_; // guarded by mutex_
};

} // namespace cdn::kv
