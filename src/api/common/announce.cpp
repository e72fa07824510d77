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
    if (auto sent = kv.publish(cache::PURGE_CHANNEL, cache::encode_purge(request)); !sent) {
        spdlog::warn("purge for {} not announced: {}", request.public_key, sent.error().message);
    }
}

} // namespace cdn::api
