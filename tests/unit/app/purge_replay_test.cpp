#include "app/purge_replay.h"

#include <gtest/gtest.h>

#include <string>

#include "../cache/variant_support.h"
#include "cache/cache_key.h"
#include "cache/purge.h"
#include "fake_clock.h"
#include "switchable_kv_store.h"

namespace cdn::app {
namespace {

using Scope = cache::PurgeRequest::Scope;

/** A node's variant cache and purge replay on a KV store that can be cut off, plus the announce
 *  step of another node (append to the log; the message itself is lost while cut off). */
class PurgeReplayTest : public ::testing::Test {
protected:
    std::string put(std::string_view public_key, std::string_view path) {
        auto key = cache::make_cache_key(public_key, path, "w=1");
        variants_.put(cache::testing::make_variant(key, 10));
        return key;
    }
    bool cached(const std::string& key) { return memory_.get(key) != nullptr; }

    void purge_elsewhere(std::string public_key) {
        const cache::PurgeRequest request{std::move(public_key), Scope::All, {}, {}};
        ASSERT_TRUE(kv_.append_log(cache::PURGE_LOG, cache::encode_purge(request),
                                   cache::PURGE_LOG_MAX_ENTRIES, cache::PURGE_LOG_TTL));
    }

    test::FakeClock clock_;
    test::SwitchableKvStore kv_{clock_};
    cache::MemoryCache memory_{1024 * 1024, clock_};
    cache::TieredCache variants_{memory_, nullptr};
};

TEST_F(PurgeReplayTest, AfterAReconnectionAppliesOnlyThePurgesPublishedSinceStart) {
    purge_elsewhere("pk_old"); // before this node started: already reflected in its cache
    PurgeReplay replay(kv_, variants_);
    const auto old_key = put("pk_old", "a.png");
    const auto missed = put("pk_a", "a.png");
    const auto kept = put("pk_b", "a.png");
    const auto listener = replay.listener();
    listener(false);
    purge_elsewhere("pk_a");
    EXPECT_FALSE(replay.catch_up()) << "nothing to do until the store is back";
    listener(true);
    EXPECT_TRUE(replay.catch_up());
    EXPECT_FALSE(cached(missed));
    EXPECT_TRUE(cached(kept));
    EXPECT_TRUE(cached(old_key)) << "a purge from before start-up is not applied again";
    EXPECT_FALSE(replay.catch_up()) << "once per reconnection";
}

TEST_F(PurgeReplayTest, AFailedReadIsRetriedOnTheNextCall) {
    PurgeReplay replay(kv_, variants_);
    const auto missed = put("pk_a", "a.png");
    purge_elsewhere("pk_a");
    replay.listener()(true);
    kv_.down = true;
    EXPECT_FALSE(replay.catch_up());
    EXPECT_TRUE(cached(missed));
    kv_.down = false;
    EXPECT_TRUE(replay.catch_up());
    EXPECT_FALSE(cached(missed));
}

TEST_F(PurgeReplayTest, ClearsEveryVariantWhenTheLogNoLongerReachesBackFarEnough) {
    PurgeReplay replay(kv_, variants_);
    const auto other = put("pk_b", "a.png");
    purge_elsewhere("pk_a");
    clock_.advance(cache::PURGE_LOG_TTL); // the log expired while this node was away
    replay.listener()(true);
    EXPECT_TRUE(replay.catch_up());
    EXPECT_FALSE(cached(other)) << "whatever it missed may concern any customer";
}

TEST_F(PurgeReplayTest, ClearsEveryVariantWhenTheStoreWasDownAtStartUp) {
    kv_.down = true;
    PurgeReplay replay(kv_, variants_);
    kv_.down = false;
    const auto other = put("pk_b", "a.png");
    replay.listener()(true);
    EXPECT_TRUE(replay.catch_up());
    EXPECT_FALSE(cached(other));
}

} // namespace
} // namespace cdn::app
