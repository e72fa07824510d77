#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "cache/tiered_cache.h"
#include "kv/kv_store.h"

namespace cdn::app {

/**
 * Purges announced while this node was cut off from the KV store's pub/sub never reach it as
 * messages; they are in the KV purge log (cache::PURGE_LOG). This keeps the newest log
 * sequence number the node has caught up with and, after a reconnection, applies the entries
 * past it. When the log no longer reaches back that far (trimmed or expired, or the number is
 * unknown because the store was down at start-up), it clears the whole variant cache instead.
 *
 * At least once: a purge that arrived live is applied again by the next replay after a
 * reconnection (purges are idempotent; it costs only refetching those variants).
 */
class PurgeReplay {
public:
    /** Reads the log's current position; the store may be down (the position is then unknown). */
    PurgeReplay(kv::KvStore& kv, cache::TieredCache& variants);

    /** The store's availability listener: a reconnection asks for a replay (run by
     *  catch_up(), not there: listeners run on the store's thread, which must not call it).
     *  It may outlive this object, as KvStore listeners do. */
    std::function<void(bool available)> listener() const;

    /** Replays if a reconnection asked for it; a failed read is retried on the next call.
     *  Returns whether a replay ran. */
    bool catch_up();

private:
    void replay(const kv::LogTail& tail);

    kv::KvStore& kv_;
    cache::TieredCache& variants_;
    std::shared_ptr<std::atomic<bool>> pending_ = std::make_shared<std::atomic<bool>>(false);
    std::mutex mutex_;                        // one catch_up at a time
    std::optional<std::int64_t> caught_up_to_; // guarded by mutex_
};

} // namespace cdn::app
