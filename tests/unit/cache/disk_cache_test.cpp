#include "cache/disk_cache.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <thread>

#include "core/hash.h"
#include "poll_until.h"
#include "temp_dir.h"
#include "variant_support.h"

namespace cdn::cache {
namespace {

namespace fs = std::filesystem;
using testing::make_variant;
using cdn::test::TempDir;

constexpr std::uint64_t MIB = 1024 * 1024;

void write_file(const fs::path& path, const std::string& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void expect_same(const CachedVariant& a, const CachedVariant& b) {
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.content_type, b.content_type);
    EXPECT_EQ(a.etag, b.etag);
    EXPECT_EQ(a.last_modified, b.last_modified);
    EXPECT_EQ(a.stored_at, b.stored_at);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.body, b.body);
}

class DiskCacheTest : public ::testing::Test {
protected:
    fs::path cache_dir() const { return dir_.fs_path() / "cache"; }

    fs::path file_of(const std::string& key) const {
        const auto hash = core::hash128_hex(key);
        return cache_dir() / hash.substr(0, 2) / hash;
    }

    std::unique_ptr<DiskCache> open(std::uint64_t capacity = 64 * MIB) const {
        auto opened = DiskCache::open(cache_dir(), capacity);
        EXPECT_TRUE(opened) << opened.error().detail;
        return opened ? std::move(*opened) : nullptr;
    }

    TempDir dir_;
};

TEST_F(DiskCacheTest, PutThenGetReturnsAnIdenticalVariant) {
    auto cache = open();
    auto v = std::make_shared<CachedVariant>(*make_variant("imagecdn:pk:a.jpg:h1", 5000));
    v->body[10] = '\0'; // binary bodies survive
    cache->put(*v);
    const auto got = cache->get(v->key);
    ASSERT_NE(got, nullptr);
    expect_same(*got, *v);
    EXPECT_TRUE(fs::is_regular_file(file_of(v->key)));
    EXPECT_EQ(cache->entries(), 1u);
    EXPECT_EQ(cache->size_bytes(), fs::file_size(file_of(v->key)));
    EXPECT_EQ(cache->get("imagecdn:pk:other:h1"), nullptr);
    EXPECT_TRUE(cache->healthy());
    EXPECT_EQ(cache->errors(), 0u);
}

TEST_F(DiskCacheTest, ACached404WithAnEmptyBodyRoundTrips) {
    auto cache = open();
    auto v = *make_variant("imagecdn:pk:missing.jpg:h", 0);
    v.status = 404;
    v.etag.clear();
    cache->put(v);
    const auto got = cache->get(v.key);
    ASSERT_NE(got, nullptr);
    expect_same(*got, v);
}

TEST_F(DiskCacheTest, SurvivesARestart) {
    std::vector<VariantPtr> stored;
    {
        auto cache = open();
        for (int i = 0; i < 20; ++i) {
            stored.push_back(make_variant("imagecdn:pk:img" + std::to_string(i) + ".jpg:h",
                                          1000 + static_cast<std::size_t>(i) * 37,
                                          static_cast<char>('a' + i)));
            cache->put(*stored.back());
        }
    }
    auto reopened = open();
    EXPECT_EQ(reopened->entries(), stored.size());
    for (const auto& v : stored) {
        const auto got = reopened->get(v->key);
        ASSERT_NE(got, nullptr) << v->key;
        expect_same(*got, *v);
    }
}

TEST_F(DiskCacheTest, ACleanCloseSavesTheIndexAndTheNextOpenTakesIt) {
    {
        auto cache = open();
        cache->put(*make_variant("imagecdn:pk:a.jpg:h", 1000));
    }
    EXPECT_TRUE(fs::is_regular_file(cache_dir() / "index"));
    auto reopened = open();
    // Taken as it is read: a crash from now on cannot leave an index that is out of date.
    EXPECT_FALSE(fs::exists(cache_dir() / "index"));
    EXPECT_NE(reopened->get("imagecdn:pk:a.jpg:h"), nullptr);
}

TEST_F(DiskCacheTest, ARestartFromTheSavedIndexKeepsTheExactLruOrder) {
    std::uint64_t one = 0;
    {
        auto cache = open();
        for (const auto* key : {"k1", "k2", "k3"}) {
            cache->put(*make_variant(key, 10'000));
        }
        one = cache->size_bytes() / 3;
        // k2 becomes the least recently used; mtimes (touched at most once a minute) still
        // say k1 is, so only the saved order evicts k2 below.
        ASSERT_NE(cache->get("k1"), nullptr);
    }
    auto cache = open(2 * one);
    for (const auto* key : {"k1", "k3"}) {
        EXPECT_NE(cache->get(key), nullptr) << key;
    }
    EXPECT_EQ(cache->entries(), 2u);
    EXPECT_FALSE(fs::exists(file_of("k2")));
}

TEST_F(DiskCacheTest, ManyEntriesAreServedAfterARestartWithAndWithoutTheSavedIndex) {
    constexpr int COUNT = 2000; // every subdirectory holds several
    const auto key = [](int i) { return "imagecdn:pk:img" + std::to_string(i) + ".jpg:h"; };
    {
        auto cache = open();
        for (int i = 0; i < COUNT; ++i) {
            cache->put(*make_variant(key(i), 100 + static_cast<std::size_t>(i % 50)));
        }
    }
    for (const bool crashed : {false, true}) {
        if (crashed) {
            fs::remove(cache_dir() / "index");
        }
        auto cache = open();
        ASSERT_EQ(cache->entries(), static_cast<std::size_t>(COUNT)) << crashed;
        std::uint64_t on_disk = 0;
        for (int i = 0; i < COUNT; ++i) {
            const auto got = cache->get(key(i));
            ASSERT_NE(got, nullptr) << key(i);
            EXPECT_EQ(got->body.size(), 100 + static_cast<std::size_t>(i % 50));
            on_disk += fs::file_size(file_of(key(i)));
        }
        EXPECT_EQ(cache->size_bytes(), on_disk);
    }
}

TEST_F(DiskCacheTest, SubdirectoriesChangedWhileStoppedAreScannedAgain) {
    std::vector<std::string> keys;
    {
        auto cache = open();
        for (int i = 0; i < 10; ++i) {
            keys.push_back("imagecdn:pk:img" + std::to_string(i) + ".jpg:h");
            cache->put(*make_variant(keys.back(), 1000));
        }
    }
    const auto index = read_file(cache_dir() / "index");
    // A file deleted while stopped; the subdirectory's mtime is set ahead, as the filesystem's
    // coarse clock may not have moved on since the save within this test.
    fs::remove(file_of(keys[0]));
    const auto gone_from = file_of(keys[0]).parent_path();
    fs::last_write_time(gone_from, fs::last_write_time(gone_from) + std::chrono::minutes(1));
    // A file added while stopped (by a build that ignores the index), in a new subdirectory.
    std::string added = "imagecdn:pk:added0:h";
    for (int i = 1; fs::exists(file_of(added).parent_path()); ++i) {
        added = "imagecdn:pk:added" + std::to_string(i) + ":h";
    }
    {
        auto other = open();
        other->put(*make_variant(added, 1000));
    }
    write_file(cache_dir() / "index", index); // the first run's index, older than the changes

    auto cache = open();
    EXPECT_EQ(cache->entries(), keys.size());
    EXPECT_EQ(cache->get(keys[0]), nullptr);
    EXPECT_NE(cache->get(added), nullptr);
    for (std::size_t i = 1; i < keys.size(); ++i) {
        EXPECT_NE(cache->get(keys[i]), nullptr) << keys[i];
    }
}

TEST_F(DiskCacheTest, ADamagedSavedIndexIsIgnoredAndEveryFileScanned) {
    {
        auto cache = open();
        for (int i = 0; i < 20; ++i) {
            cache->put(*make_variant("imagecdn:pk:img" + std::to_string(i) + ".jpg:h", 1000));
        }
    }
    auto index = read_file(cache_dir() / "index");
    index[index.size() / 2] ^= 0x01;
    write_file(cache_dir() / "index", index);
    auto cache = open();
    EXPECT_EQ(cache->entries(), 20u);
    for (int i = 0; i < 20; ++i) {
        EXPECT_NE(cache->get("imagecdn:pk:img" + std::to_string(i) + ".jpg:h"), nullptr) << i;
    }
    write_file(cache_dir() / "index", index.substr(0, 100)); // cut short
    cache.reset(); // saves a sound index over it
    EXPECT_EQ(open()->entries(), 20u);
}

TEST_F(DiskCacheTest, ADamagedFileBehindTheSavedIndexIsAMissAndIsRemoved) {
    {
        auto cache = open();
        cache->put(*make_variant("good", 5000));
        cache->put(*make_variant("flipped", 5000));
    }
    auto bytes = read_file(file_of("flipped"));
    bytes[bytes.size() - 100] ^= 0x01; // in place: the subdirectory's mtime does not change
    write_file(file_of("flipped"), bytes);
    auto cache = open();
    EXPECT_EQ(cache->get("flipped"), nullptr);
    EXPECT_FALSE(fs::exists(file_of("flipped")));
    EXPECT_EQ(cache->entries(), 1u);
    EXPECT_NE(cache->get("good"), nullptr);
}

TEST_F(DiskCacheTest, ErasePrefixAfterARestartFromTheSavedIndexDeletesTheFiles) {
    {
        auto cache = open();
        for (const auto* key : {"imagecdn:pk:a/1:h", "imagecdn:pk:a/2:h", "imagecdn:pk:b/1:h"}) {
            cache->put(*make_variant(key, 1000));
        }
    }
    auto cache = open();
    EXPECT_EQ(cache->erase_prefix("imagecdn:pk:a/"), 2u);
    EXPECT_FALSE(fs::exists(file_of("imagecdn:pk:a/1:h")));
    EXPECT_FALSE(fs::exists(file_of("imagecdn:pk:a/2:h")));
    EXPECT_EQ(cache->get("imagecdn:pk:a/1:h"), nullptr);
    EXPECT_NE(cache->get("imagecdn:pk:b/1:h"), nullptr);
    cache.reset();
    EXPECT_EQ(open()->entries(), 1u);
}

/** A folder of `count` variants `imagecdn:pk:{a|b}/{i}:h` (even i under a/, odd under b/) left
 *  as by a crash: no saved index. */
std::vector<std::string> crashed_folder(const std::function<std::unique_ptr<DiskCache>()>& open,
                                        const fs::path& dir, int count) {
    std::vector<std::string> keys;
    {
        auto cache = open();
        for (int i = 0; i < count; ++i) {
            keys.push_back(std::string("imagecdn:pk:") + (i % 2 == 0 ? "a/" : "b/") +
                           std::to_string(i) + ":h");
            cache->put(*make_variant(keys.back(), 100, static_cast<char>('a' + i % 26)));
        }
    }
    fs::remove(dir / "index");
    return keys;
}

TEST_F(DiskCacheTest, ABackgroundStartIndexesEveryFileWhileServing) {
    const auto keys = crashed_folder([&] { return open(); }, cache_dir(), 2000);
    auto opened = DiskCache::open(cache_dir(), 64 * MIB, DiskCache::Startup::Background);
    ASSERT_TRUE(opened);
    auto& cache = **opened;
    // Serving meanwhile: a put is kept, whatever the scan finds for its key later.
    auto replaced = *make_variant(keys[1], 300, 'z');
    cache.put(replaced);
    ASSERT_TRUE(test::poll_until([&] { return !cache.indexing(); }, std::chrono::seconds(60)));
    EXPECT_EQ(cache.entries(), keys.size());
    EXPECT_EQ(cache.get(keys[1])->body, replaced.body);
    for (std::size_t i = 2; i < keys.size(); ++i) {
        const auto got = cache.get(keys[i]);
        ASSERT_NE(got, nullptr) << keys[i];
        EXPECT_EQ(got->body, std::string(100, static_cast<char>('a' + i % 26)));
    }
}

TEST_F(DiskCacheTest, APurgeDuringABackgroundStartReachesFilesNotYetIndexed) {
    const auto keys = crashed_folder([&] { return open(); }, cache_dir(), 2000);
    auto opened = DiskCache::open(cache_dir(), 64 * MIB, DiskCache::Startup::Background);
    ASSERT_TRUE(opened);
    auto& cache = **opened;
    cache.erase_prefix("imagecdn:pk:a/"); // most likely before the scan has indexed them
    ASSERT_TRUE(test::poll_until([&] { return !cache.indexing(); }, std::chrono::seconds(60)));
    EXPECT_EQ(cache.entries(), keys.size() / 2);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        EXPECT_EQ(cache.get(keys[i]) != nullptr, i % 2 == 1) << keys[i];
        EXPECT_EQ(fs::exists(file_of(keys[i])), i % 2 == 1) << keys[i];
    }
}

TEST_F(DiskCacheTest, ClosingDuringABackgroundStartLeavesTheRestToTheNextStart) {
    const auto keys = crashed_folder([&] { return open(); }, cache_dir(), 2000);
    {
        auto opened = DiskCache::open(cache_dir(), 64 * MIB, DiskCache::Startup::Background);
        ASSERT_TRUE(opened);
    } // closed at once, most likely before the scan is done: its subdirectories stay untrusted
    auto cache = open();
    EXPECT_EQ(cache->entries(), keys.size());
    for (const auto& key : keys) {
        EXPECT_NE(cache->get(key), nullptr) << key;
    }
}

TEST_F(DiskCacheTest, ReplacingAVariantKeepsOneFile) {
    auto cache = open();
    cache->put(*make_variant("k", 100, 'a'));
    cache->put(*make_variant("k", 200, 'b'));
    EXPECT_EQ(cache->get("k")->body, std::string(200, 'b'));
    EXPECT_EQ(cache->entries(), 1u);
    EXPECT_EQ(cache->size_bytes(), fs::file_size(file_of("k")));
}

TEST_F(DiskCacheTest, EvictsTheLeastRecentlyUsedFilesByBytes) {
    const auto one = [&] {
        auto probe = open();
        probe->put(*make_variant("k0", 10'000));
        return probe->size_bytes();
    }();
    fs::remove_all(cache_dir());
    auto cache = open(3 * one);
    for (const auto* key : {"k1", "k2", "k3"}) {
        cache->put(*make_variant(key, 10'000));
    }
    ASSERT_NE(cache->get("k1"), nullptr); // k2 is now the least recently used
    cache->put(*make_variant("k4", 10'000));
    EXPECT_EQ(cache->get("k2"), nullptr);
    EXPECT_FALSE(fs::exists(file_of("k2")));
    for (const auto* key : {"k1", "k3", "k4"}) {
        EXPECT_NE(cache->get(key), nullptr) << key;
    }
    EXPECT_LE(cache->size_bytes(), 3 * one);
    for (int i = 0; i < 50; ++i) {
        cache->put(*make_variant("f" + std::to_string(i), static_cast<std::size_t>(i) * 500));
        ASSERT_LE(cache->size_bytes(), 3 * one);
    }
}

TEST_F(DiskCacheTest, AVariantBiggerThanTheCapacityIsNotStoredAndEvictsNothing) {
    auto cache = open(50'000);
    cache->put(*make_variant("small", 1000));
    cache->put(*make_variant("huge", 60'000));
    EXPECT_EQ(cache->get("huge"), nullptr);
    EXPECT_FALSE(fs::exists(file_of("huge")));
    EXPECT_NE(cache->get("small"), nullptr);
}

TEST_F(DiskCacheTest, ARestartKeepsTheMostRecentlyUsedWhenTheCapacityShrank) {
    {
        auto cache = open();
        for (const auto* key : {"old", "mid", "new"}) {
            cache->put(*make_variant(key, 10'000));
        }
    }
    // Without a saved index (as after a crash) the mtime orders entries across a restart.
    fs::remove(cache_dir() / "index");
    const auto now = fs::file_time_type::clock::now();
    fs::last_write_time(file_of("old"), now - std::chrono::hours(3));
    fs::last_write_time(file_of("mid"), now - std::chrono::hours(2));
    fs::last_write_time(file_of("new"), now - std::chrono::hours(1));
    const auto one = fs::file_size(file_of("old"));

    auto cache = open(2 * one);
    EXPECT_EQ(cache->entries(), 2u);
    EXPECT_EQ(cache->get("old"), nullptr);
    EXPECT_FALSE(fs::exists(file_of("old")));
    EXPECT_NE(cache->get("mid"), nullptr);
    EXPECT_NE(cache->get("new"), nullptr);
}

TEST_F(DiskCacheTest, CorruptFilesAreRemovedAtOpenAndOthersLeftAlone) {
    {
        auto cache = open();
        for (const auto* key : {"good", "truncated", "garbage", "moved"}) {
            cache->put(*make_variant(key, 5000));
        }
    }
    const auto truncated = read_file(file_of("truncated"));
    write_file(file_of("truncated"), truncated.substr(0, truncated.size() - 10));
    write_file(file_of("garbage"), std::string(5000, '\x5a'));
    // A sound file under another key's name.
    fs::create_directories(file_of("elsewhere").parent_path());
    fs::rename(file_of("moved"), file_of("elsewhere"));
    const auto leftover = file_of("good").parent_path() / ".tmp-0011223344556677";
    write_file(leftover, "partial write");
    const auto foreign = cache_dir() / "README.txt";
    const auto foreign_in_sub = file_of("good").parent_path() / "notes";
    write_file(foreign, "not ours");
    write_file(foreign_in_sub, "not ours either");
    // As after a crash: no saved index, so open() reads every file (with one, files damaged in
    // place are found at their first read instead: ADamagedFileBehindTheSavedIndexIsAMiss).
    fs::remove(cache_dir() / "index");

    auto cache = open();
    EXPECT_EQ(cache->entries(), 1u);
    EXPECT_NE(cache->get("good"), nullptr);
    for (const auto* key : {"truncated", "garbage", "moved", "elsewhere"}) {
        EXPECT_EQ(cache->get(key), nullptr) << key;
        EXPECT_FALSE(fs::exists(file_of(key))) << key;
    }
    EXPECT_FALSE(fs::exists(leftover));
    EXPECT_EQ(read_file(foreign), "not ours");
    EXPECT_EQ(read_file(foreign_in_sub), "not ours either");
}

TEST_F(DiskCacheTest, AFileDamagedWhileRunningIsAMissAndIsRemoved) {
    auto cache = open();
    cache->put(*make_variant("flipped", 5000));
    cache->put(*make_variant("garbage", 5000));
    cache->put(*make_variant("gone", 5000));
    auto bytes = read_file(file_of("flipped"));
    bytes[bytes.size() - 100] ^= 0x01; // same size, wrong checksum
    write_file(file_of("flipped"), bytes);
    write_file(file_of("garbage"), "garbage");
    fs::remove(file_of("gone"));

    for (const auto* key : {"flipped", "garbage", "gone"}) {
        EXPECT_EQ(cache->get(key), nullptr) << key;
        EXPECT_FALSE(fs::exists(file_of(key))) << key;
    }
    EXPECT_EQ(cache->entries(), 0u);
    EXPECT_EQ(cache->size_bytes(), 0u);
    EXPECT_EQ(cache->errors(), 3u);
    EXPECT_TRUE(cache->healthy()); // bad files are not a failing disk
}

TEST_F(DiskCacheTest, ADirectoryReplacedByAFileMakesPutsNoOpsAndGetsMisses) {
    auto cache = open();
    cache->put(*make_variant("before", 1000));
    fs::remove_all(cache_dir());
    write_file(cache_dir(), "a file now");

    EXPECT_NO_THROW(cache->put(*make_variant("after", 1000)));
    EXPECT_FALSE(cache->healthy());
    EXPECT_GE(cache->errors(), 1u);
    EXPECT_EQ(cache->get("after"), nullptr);
    EXPECT_EQ(cache->get("before"), nullptr);
    // Writes stay paused for a while: no more failures are even attempted.
    const auto errors = cache->errors();
    cache->put(*make_variant("again", 1000));
    EXPECT_EQ(cache->errors(), errors);
    EXPECT_NO_THROW(cache->erase_prefix(""));
    EXPECT_EQ(read_file(cache_dir()), "a file now");
}

TEST_F(DiskCacheTest, ADeletedDirectoryIsNotRecreated) {
    auto cache = open();
    fs::remove_all(cache_dir());
    cache->put(*make_variant("after", 1000));
    EXPECT_FALSE(fs::exists(cache_dir()));
    EXPECT_FALSE(cache->healthy());
    EXPECT_EQ(cache->get("after"), nullptr);
}

TEST_F(DiskCacheTest, OpenFailsWhenTheDirectoryCannotBeUsed) {
    write_file(dir_.fs_path() / "file", "x");
    for (const auto& path : {dir_.fs_path() / "file", dir_.fs_path() / "file" / "cache"}) {
        const auto opened = DiskCache::open(path, MIB);
        ASSERT_FALSE(opened) << path;
        EXPECT_EQ(opened.error().code, core::Errc::Unavailable);
    }
}

TEST_F(DiskCacheTest, TwoCachesCannotShareADirectory) {
    auto first = open();
    const auto second = DiskCache::open(cache_dir(), MIB);
    EXPECT_FALSE(second);
    first.reset();
    EXPECT_TRUE(DiskCache::open(cache_dir(), MIB));
}

TEST_F(DiskCacheTest, ErasePrefixDeletesTheMatchingFiles) {
    auto cache = open();
    for (const auto* key : {"imagecdn:pk:a.jpg:1", "imagecdn:pk:a.jpg:2", "imagecdn:pk:b.jpg:1",
                            "imagecdn:pk2:a.jpg:1"}) {
        cache->put(*make_variant(key, 100));
    }
    EXPECT_EQ(cache->erase_prefix("imagecdn:pk:a.jpg:"), 2u);
    EXPECT_FALSE(fs::exists(file_of("imagecdn:pk:a.jpg:1")));
    EXPECT_EQ(cache->get("imagecdn:pk:a.jpg:2"), nullptr);
    EXPECT_EQ(cache->erase_prefix("imagecdn:pk:"), 1u);
    EXPECT_NE(cache->get("imagecdn:pk2:a.jpg:1"), nullptr);
    cache.reset();
    EXPECT_EQ(open()->entries(), 1u); // purged variants do not come back after a restart
}

TEST_F(DiskCacheTest, ConcurrentPutsAndGetsKeepTheIndexAndFilesInStep) {
    auto cache = open(200'000);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&cache, t] {
            for (int i = 0; i < 300; ++i) {
                const auto key = "k" + std::to_string((i * 13 + t) % 40);
                if (i % 2 == 0) {
                    cache->put(*make_variant(key, static_cast<std::size_t>(i % 9) * 1000,
                                             static_cast<char>('a' + t)));
                } else if (auto v = cache->get(key)) {
                    ASSERT_EQ(v->key, key);
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_LE(cache->size_bytes(), 200'000u);
    EXPECT_EQ(cache->errors(), 0u);
    std::uint64_t on_disk = 0;
    std::size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(cache_dir())) {
        if (entry.is_regular_file() && entry.path().filename() != ".lock") {
            on_disk += entry.file_size();
            ++files;
        }
    }
    EXPECT_EQ(files, cache->entries());
    EXPECT_EQ(on_disk, cache->size_bytes());
}

} // namespace
} // namespace cdn::cache
