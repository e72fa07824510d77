#include "edge/shared_tier.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/hash.h"
#include "kv/memory_kv_store.h"
#include "poll_until.h"
#include "storage/local_blob_store.h"
#include "temp_dir.h"

namespace cdn::edge {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

const std::string KEY = "imagecdn:pk_a:cat.png:" + std::string(64, 'f');

cache::VariantPtr made(std::string body) {
    auto v = std::make_shared<cache::CachedVariant>();
    v->key = KEY;
    v->content_type = "image/webp";
    v->etag = "\"" + core::hash128_hex(body) + "\"";
    v->body = std::move(body);
    return v;
}

auto never_purged() {
    return [] { return false; };
}

/** Two edge nodes' tiers on one bucket (a local store) and one KV store, as in a cluster. */
class SharedTierTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(store_->put("pk_a/cat.png", "original v1"));
        a_.emplace(*store_, &kv_, clock_, SharedTierConfig{.node_id = "node-a"});
        b_.emplace(*store_, &kv_, clock_, SharedTierConfig{.wait = 400ms, .node_id = "node-b"});
    }

    /** `tier.look_up()` run to its end on an I/O context of its own. */
    SharedTier::Found look_up(SharedTier& tier) {
        std::optional<SharedTier::Found> found;
        net::co_spawn(net::make_strand(io_), tier.look_up(url_, KEY, pool_),
                      [&found](std::exception_ptr error, SharedTier::Found result) {
                          EXPECT_FALSE(error);
                          found = std::move(result);
                      });
        // The context runs out of work while a call is on the pool: poll it.
        while (!found) {
            io_.restart();
            io_.run_for(5ms);
        }
        return std::move(*found);
    }

    std::string version() { return store_->head("pk_a/cat.png")->etag; }

    test::TempDir dir_;
    storage::BlobStorePtr store_ = storage::LocalBlobStore::create(dir_.path()).value();
    core::SystemClock clock_;
    kv::MemoryKvStore kv_{clock_};
    // Outlives the pool: a pool thread still lets go of the strand after the answer arrived.
    net::io_context io_;
    net::thread_pool pool_{2};
    ImageUrl url_{.public_key = "pk_a", .path = "cat.png"};
    std::optional<SharedTier> a_;
    std::optional<SharedTier> b_;
};

TEST_F(SharedTierTest, AVariantWrittenByOneNodeIsFoundByAnotherForThatVersionOnly) {
    auto first = look_up(*a_);
    ASSERT_FALSE(first.variant);
    ASSERT_TRUE(first.lease) << "A misses first: it transforms for the cluster";
    a_->write_later(url_, std::move(first), version(), made("variant of v1"), never_purged());
    const auto hit = look_up(*b_);
    ASSERT_TRUE(hit.variant) << "B waited for A's lease to end with the write";
    EXPECT_EQ(hit.variant->body, "variant of v1");
    EXPECT_EQ(hit.variant->key, KEY);
    EXPECT_FALSE(hit.variant->response_headers.empty());

    ASSERT_TRUE(store_->put("pk_a/cat.png", "original v2")); // replaced; no purge needed
    const auto after = look_up(*b_);
    EXPECT_FALSE(after.variant);
    EXPECT_NE(after.object_key, hit.object_key);
}

TEST_F(SharedTierTest, AVariantPurgedDuringItsProductionIsNotShared) {
    auto found = look_up(*a_);
    const auto object_key = found.object_key;
    a_->write_later(url_, std::move(found), version(), made("purged meanwhile"),
                    [] { return true; });
    a_.reset(); // finishes its writes
    EXPECT_FALSE(store_->head(object_key));
}

TEST_F(SharedTierTest, AWaiterTakesOverWhenTheHolderGoesWithoutWriting) {
    auto holder = look_up(*a_);
    ASSERT_TRUE(holder.lease);
    holder.lease.reset(); // the transform failed: released, waiters told
    const auto next = look_up(*b_);
    EXPECT_FALSE(next.variant);
    EXPECT_TRUE(next.lease) << "B holds it now";
}

TEST_F(SharedTierTest, AWaiterTransformsItselfOnceTheBoundedWaitIsOver) {
    const auto holder = look_up(*a_); // A keeps its lease (renewed) and never finishes
    ASSERT_TRUE(holder.lease);
    const auto started = std::chrono::steady_clock::now();
    const auto next = look_up(*b_);
    EXPECT_FALSE(next.variant);
    EXPECT_FALSE(next.lease) << "A still holds it: B transforms without it";
    EXPECT_FALSE(next.object_key.empty()) << "and shares what it makes";
    EXPECT_GE(std::chrono::steady_clock::now() - started, 400ms) << "after [cache] shared_wait_ms";
}

TEST_F(SharedTierTest, AHolderWorkingPastTheLeaseTtlKeepsItsLease) {
    const auto holder = look_up(*a_);
    ASSERT_TRUE(holder.lease);
    const auto lease = "lease:" + holder.object_key;
    // Lets real time pass beyond the TTL, as the KV tests let counters expire: only renewals
    // (every TTL / 3) can keep the lease.
    std::this_thread::sleep_for(SharedTier::LEASE_TTL + 500ms);
    EXPECT_FALSE(kv_.acquire_lease(lease, "node-b", 1s).value()) << "A renewed it";
    EXPECT_FALSE(kv_.release_lease(lease, "node-b").value());
}

TEST_F(SharedTierTest, WithoutAClusterStoreNoLeaseIsTaken) {
    SharedTier alone(*store_, nullptr, clock_, SharedTierConfig{.node_id = "solo"});
    const auto found = look_up(alone);
    EXPECT_FALSE(found.variant);
    EXPECT_FALSE(found.lease);
    EXPECT_FALSE(found.object_key.empty());
}

TEST_F(SharedTierTest, NoOriginalMeansNoSharedLookup) {
    ImageUrl absent{.public_key = "pk_a", .path = "absent.png"};
    url_ = absent;
    const auto found = look_up(*a_);
    EXPECT_TRUE(found.object_key.empty()) << "the fetch step answers the 404";
    EXPECT_FALSE(found.lease);
}

} // namespace
} // namespace cdn::edge
