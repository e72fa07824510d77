#include "app/purge_replay.h"

#include <spdlog/spdlog.h>

#include "cache/purge.h"

namespace cdn::app {

PurgeReplay::PurgeReplay(kv::KvStore& kv, cache::TieredCache& variants)
    : kv_(kv), variants_(variants) {
    if (auto tail = kv_.read_log(cache::PURGE_LOG, 0); tail) {
        caught_up_to_ = tail->last_sequence;
    }
}

std::function<void(bool)> PurgeReplay::listener() const {
    return [pending = pending_](bool available) {
        if (available) {
            pending->store(true, std::memory_order_release);
        }
    };
}

bool PurgeReplay::catch_up() {
    if (!pending_->exchange(false, std::memory_order_acq_rel)) {
        return false;
    }
    const std::lock_guard lock(mutex_);
    auto tail = kv_.read_log(cache::PURGE_LOG, caught_up_to_.value_or(0));
    if (!tail) {
        pending_->store(true, std::memory_order_release);
        return false;
    }
    replay(*tail);
    caught_up_to_ = tail->last_sequence;
    return true;
}

void PurgeReplay::replay(const kv::LogTail& tail) {
    if (!caught_up_to_ || !tail.complete) {
        const auto dropped = variants_.purge_prefix("");
        spdlog::warn("kv: purges missed while redis was unreachable are no longer in the purge "
                     "log; cleared the whole variant cache ({} variants)",
                     dropped);
        return;
    }
    std::size_t dropped = 0;
    for (const auto& entry : tail.entries) {
        if (auto request = cache::decode_purge(entry.message); request) {
            dropped += cache::apply_purge(variants_, *request);
        } else {
            spdlog::warn("ignored a malformed purge log entry: {}", request.error().message);
        }
    }
    spdlog::info("kv: replayed {} purges from the purge log after reconnecting ({} variants)",
                 tail.entries.size(), dropped);
}

} // namespace cdn::app
