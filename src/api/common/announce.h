#pragma once

#include <string_view>

#include "cache/purge.h"
#include "kv/kv_store.h"

namespace cdn::api {

/** Tells every edge node (through the KV config channel) that a customer's config changed, so
 *  the next request reads it afresh. A failure is logged: the config TTL still bounds it. */
void announce_config_change(kv::KvStore& kv, std::string_view public_key);

/** Asks every edge node to drop the matching variants (the KV purge channel), and appends the
 *  purge to the KV purge log for nodes that are cut off from the channel right now. */
void announce_purge(kv::KvStore& kv, const cache::PurgeRequest& request);

} // namespace cdn::api
