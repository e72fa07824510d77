// The ordered key index of both tiers, which purges walk instead of scanning the whole tier:
// a path purge reaches exactly that path's variants, a prefix purge exactly the keys under it,
// evictions keep the index in step, and a randomized run agrees with a brute-force scan.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cache/cache_key.h"
#include "cache/disk_cache.h"
#include "cache/memory_cache.h"
#include "fake_clock.h"
#include "temp_dir.h"
#include "variant_support.h"

namespace cdn::cache {
namespace {

using cdn::test::FakeClock;
using cdn::test::TempDir;
using testing::make_variant;

// Paths chosen so that naive prefixes overlap: `a.png` vs `a.png.webp`, `dir/` vs `dir2/`,
// `pk_a` vs `pk_ab`.
const std::vector<std::string> PUBLIC_KEYS{"pk_a", "pk_ab", "pk_b"};
const std::vector<std::string> PATHS{"a",         "a.png",     "a.png.webp", "dir/a.png",
                                     "dir/b.png", "dir2/a.png", "dir/sub/c"};
const std::vector<std::string> OPTIONS{"", "w=100", "w=200&f=webp", "h=50"};

std::vector<std::string> universe() {
    std::vector<std::string> keys;
    for (const auto& pk : PUBLIC_KEYS) {
        for (const auto& path : PATHS) {
            for (const auto& options : OPTIONS) {
                keys.push_back(make_cache_key(pk, path, options));
            }
        }
    }
    return keys;
}

/** One tier as the tests drive it. */
struct Tier {
    std::function<void(const std::string&)> put;
    std::function<bool(const std::string&)> has;
    std::function<std::size_t(const std::string&)> erase_prefix;
};

/** The keys of `keys` that the tier holds now (a brute-force scan). */
std::set<std::string> present(const Tier& tier, const std::vector<std::string>& keys) {
    std::set<std::string> held;
    for (const auto& key : keys) {
        if (tier.has(key)) {
            held.insert(key);
        }
    }
    return held;
}

/** Erases `prefix` and checks the result against the brute-force answer: the count, the keys
 *  gone and every other key still there. */
void expect_purge_matches_scan(const Tier& tier, const std::vector<std::string>& keys,
                               const std::string& prefix) {
    const auto before = present(tier, keys);
    std::set<std::string> expected_gone;
    for (const auto& key : before) {
        if (key.starts_with(prefix)) {
            expected_gone.insert(key);
        }
    }
    EXPECT_EQ(tier.erase_prefix(prefix), expected_gone.size()) << prefix;
    const auto after = present(tier, keys);
    for (const auto& key : before) {
        EXPECT_EQ(after.contains(key), !expected_gone.contains(key)) << prefix << " / " << key;
    }
    EXPECT_LE(after.size(), before.size());
}

class PurgeIndexTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        if (GetParam() == "memory") {
            tier_ = memory_tier(64 * 1024 * 1024);
        } else {
            tier_ = disk_tier(64 * 1024 * 1024);
        }
    }

    Tier memory_tier(std::size_t capacity) {
        memory_ = std::make_unique<MemoryCache>(capacity, clock_, 4);
        return Tier{[this](const std::string& key) { memory_->put(make_variant(key, 100)); },
                    [this](const std::string& key) { return memory_->get(key) != nullptr; },
                    [this](const std::string& prefix) { return memory_->erase_prefix(prefix); }};
    }

    Tier disk_tier(std::uint64_t capacity) {
        disk_.reset();
        auto opened = DiskCache::open(dir_.fs_path() / "cache", capacity);
        EXPECT_TRUE(opened);
        disk_ = std::move(*opened);
        return Tier{[this](const std::string& key) { disk_->put(*make_variant(key, 100)); },
                    [this](const std::string& key) { return disk_->get(key) != nullptr; },
                    [this](const std::string& prefix) { return disk_->erase_prefix(prefix); }};
    }

    std::size_t entries() const { return memory_ ? memory_->entries() : disk_->entries(); }

    TempDir dir_;
    FakeClock clock_;
    std::unique_ptr<MemoryCache> memory_;
    std::unique_ptr<DiskCache> disk_;
    Tier tier_;
};

INSTANTIATE_TEST_SUITE_P(Tiers, PurgeIndexTest, ::testing::Values("memory", "disk"),
                         [](const auto& info) { return info.param; });

TEST_P(PurgeIndexTest, APathPurgeReachesOnlyThatPathsVariants) {
    const auto keys = universe();
    for (const auto& key : keys) {
        tier_.put(key);
    }
    const auto prefix = key_prefix_for_path("pk_a", "a.png");
    EXPECT_EQ(tier_.erase_prefix(prefix), OPTIONS.size());
    for (const auto& key : keys) {
        EXPECT_EQ(tier_.has(key), !key.starts_with(prefix)) << key;
    }
    // `a.png.webp` and `pk_ab`'s `a.png` were not reached.
    EXPECT_TRUE(tier_.has(make_cache_key("pk_a", "a.png.webp", "w=100")));
    EXPECT_TRUE(tier_.has(make_cache_key("pk_ab", "a.png", "w=100")));
    EXPECT_EQ(entries(), keys.size() - OPTIONS.size());
}

TEST_P(PurgeIndexTest, APrefixPurgeReachesEveryPathUnderItAndNoOther) {
    const auto keys = universe();
    for (const auto& key : keys) {
        tier_.put(key);
    }
    // dir/a.png, dir/b.png and dir/sub/c; not dir2/a.png.
    EXPECT_EQ(tier_.erase_prefix(key_prefix_for_path_prefix("pk_a", "dir/")), 3 * OPTIONS.size());
    EXPECT_TRUE(tier_.has(make_cache_key("pk_a", "dir2/a.png", "")));
    EXPECT_TRUE(tier_.has(make_cache_key("pk_ab", "dir/a.png", "")));
    // A customer purge leaves pk_ab alone though pk_a is its prefix.
    EXPECT_EQ(tier_.erase_prefix(key_prefix_for_customer("pk_a")),
              (PATHS.size() - 3) * OPTIONS.size());
    EXPECT_EQ(entries(), 2 * PATHS.size() * OPTIONS.size());
}

// A small capacity makes puts evict: an evicted key must leave the index too, or a later purge
// would count (or trip over) an entry that is gone.
TEST_P(PurgeIndexTest, EvictionKeepsTheIndexInStep) {
    tier_ = GetParam() == "memory" ? memory_tier(4 * 1024) : disk_tier(4 * 1024);
    const auto keys = universe();
    for (const auto& key : keys) {
        tier_.put(key);
    }
    const auto held = present(tier_, keys);
    ASSERT_LT(held.size(), keys.size()); // some were evicted
    ASSERT_GT(held.size(), 0U);
    EXPECT_EQ(entries(), held.size());
    EXPECT_EQ(tier_.erase_prefix(""), held.size());
    EXPECT_EQ(entries(), 0U);
    EXPECT_TRUE(present(tier_, keys).empty());
}

// The disk tier erases in batches (releasing its lock between them) and rebuilds its index
// from the files at open: a purge after a restart still reaches every variant, past a batch.
TEST_P(PurgeIndexTest, ALargePurgeAfterAReopenReachesEveryVariant) {
    const auto variants = 3 * DiskCache::ERASE_BATCH + 5;
    for (std::size_t i = 0; i < variants; ++i) {
        tier_.put(make_cache_key("pk_a", "big.png", "w=" + std::to_string(i)));
    }
    tier_.put(make_cache_key("pk_a", "other.png", ""));
    if (disk_) {
        tier_ = disk_tier(64 * 1024 * 1024);
    }
    EXPECT_EQ(tier_.erase_prefix(key_prefix_for_path("pk_a", "big.png")), variants);
    EXPECT_EQ(entries(), 1U);
    EXPECT_TRUE(tier_.has(make_cache_key("pk_a", "other.png", "")));
}

TEST_P(PurgeIndexTest, RandomPutsAndPurgesAgreeWithABruteForceScan) {
    // Small enough that puts evict now and then, so eviction is part of the run.
    tier_ = GetParam() == "memory" ? memory_tier(40 * 1024) : disk_tier(16 * 1024);
    const auto keys = universe();
    std::mt19937 random(13);
    const auto pick = [&random](const auto& list) {
        return list[std::uniform_int_distribution<std::size_t>(0, list.size() - 1)(random)];
    };
    for (int round = 0; round < 60; ++round) {
        for (int i = 0; i < 30; ++i) {
            tier_.put(pick(keys));
        }
        const auto key = pick(keys);
        const std::vector<std::string> prefixes{
            key_prefix_for_path(pick(PUBLIC_KEYS), pick(PATHS)),
            key_prefix_for_path_prefix(pick(PUBLIC_KEYS), pick(PATHS).substr(0, 2)),
            key_prefix_for_customer(pick(PUBLIC_KEYS)),
            key.substr(0, std::uniform_int_distribution<std::size_t>(0, key.size())(random)),
        };
        expect_purge_matches_scan(tier_, keys, pick(prefixes));
        ASSERT_FALSE(::testing::Test::HasFailure()) << "round " << round;
    }
}

} // namespace
} // namespace cdn::cache
