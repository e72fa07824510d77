#include "api/common/announce.h"

#include <spdlog/spdlog.h>

#include "kv/channels.h"

namespace cdn::api {

void announce_config_change(kv::KvStore& kv, std::string_view public_key) {
    if (auto sent = kv.publish(kv::CONFIG_CHANNEL, public_key); !sent) {
        spdlog::warn("config change of {} not announced: {}", public_key, sent.error().message);
    }
}

void announce_purge(kv::KvStore& kv, const cache::PurgeRequest& request) {
    const auto message = cache::encode_purge(request);
    // Logged first: a node that misses the message below finds it there once reconnected.
    if (auto logged = kv.append_log(cache::PURGE_LOG, message, cache::PURGE_LOG_MAX_ENTRIES,
                                    cache::PURGE_LOG_TTL);
        !logged) {
        spdlog::warn("purge for {} not logged: {}", request.public_key, logged.error().message);
    }
    if (auto sent = kv.publish(cache::PURGE_CHANNEL, message); !sent) {
        spdlog::warn("purge for {} not announced: {}", request.public_key, sent.error().message);
    }
}

} // namespace cdn::api
