#include "storage/local_blob_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include "core/hash.h"
#include "storage/key.h"
#include "temp_dir.h"

namespace cdn::storage {
namespace {

namespace fs = std::filesystem;
using cdn::test::TempDir;

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<std::string> temp_files_under(const fs::path& root) {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.path().filename().string().starts_with(".tmp-")) {
            found.push_back(entry.path().string());
        }
    }
    return found;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::vector<std::string> keys_listed(BlobStore& store, std::string_view prefix,
                                     std::string_view after, std::size_t limit) {
    auto page = store.list(prefix, after, limit);
    EXPECT_TRUE(page);
    std::vector<std::string> keys;
    for (const auto& item : page ? page->items : std::vector<ObjectInfo>{}) {
        keys.push_back(item.key);
    }
    return keys;
}

class LocalBlobStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = dir_.fs_path() / "originals";
        auto created = LocalBlobStore::create(root_);
        ASSERT_TRUE(created) << created.error().detail;
        store_ = std::move(*created);
    }

    std::vector<std::string> list_keys(std::string_view prefix, std::string_view after = "",
                                       std::size_t limit = 1000) {
        return keys_listed(*store_, prefix, after, limit);
    }

    TempDir dir_;
    fs::path root_;
    BlobStorePtr store_;
};

TEST_F(LocalBlobStoreTest, CreateMakesTheRootAndIsReady) {
    EXPECT_TRUE(fs::is_directory(root_));
    EXPECT_TRUE(store_->check());
}

TEST_F(LocalBlobStoreTest, CreateFailsWhenTheRootIsAFile) {
    write_file(dir_.fs_path() / "file", "x");
    const auto created = LocalBlobStore::create(dir_.fs_path() / "file");
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().code, core::Errc::Unavailable);
}

TEST_F(LocalBlobStoreTest, PutThenGetReturnsTheBytesAndMetadata) {
    const std::string bytes = "\x89PNG\r\n\x1a\n with a NUL \0 inside";
    const auto stored = store_->put("pk_1/a/b/cat.png", bytes);
    ASSERT_TRUE(stored) << stored.error().detail;
    EXPECT_EQ(stored->key, "pk_1/a/b/cat.png");
    EXPECT_EQ(stored->size, bytes.size());
    EXPECT_EQ(stored->etag, core::hash128_hex(bytes));
    EXPECT_NEAR(static_cast<double>(stored->last_modified), static_cast<double>(unix_now()), 5);

    const auto object = store_->get("pk_1/a/b/cat.png");
    ASSERT_TRUE(object);
    EXPECT_EQ(object->bytes, bytes);
    EXPECT_EQ(object->info.key, stored->key);
    EXPECT_EQ(object->info.size, stored->size);
    EXPECT_EQ(object->info.etag, stored->etag);
    EXPECT_EQ(object->info.last_modified, stored->last_modified);
    EXPECT_EQ(read_file(root_ / "pk_1/a/b/cat.png"), bytes);

    const auto info = store_->head("pk_1/a/b/cat.png");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->size, bytes.size());
    EXPECT_EQ(info->etag, stored->etag);
}

TEST_F(LocalBlobStoreTest, EmptyObjectsRoundTrip) {
    ASSERT_TRUE(store_->put("pk_1/empty", ""));
    const auto object = store_->get("pk_1/empty");
    ASSERT_TRUE(object);
    EXPECT_EQ(object->bytes, "");
    EXPECT_EQ(object->info.etag, core::hash128_hex(""));
}

TEST_F(LocalBlobStoreTest, AnObjectOverTheByteLimitIsRefusedAndOneAtItIsRead) {
    auto limited = LocalBlobStore::create(root_, {.max_object_bytes = 10});
    ASSERT_TRUE(limited);
    ASSERT_TRUE(store_->put("pk_1/at.jpg", std::string(10, 'a')));
    ASSERT_TRUE(store_->put("pk_1/over.jpg", std::string(11, 'b')));
    EXPECT_EQ((*limited)->get("pk_1/at.jpg")->bytes, std::string(10, 'a'));
    const auto over = (*limited)->get("pk_1/over.jpg");
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, core::Errc::SourceTooLarge);
    // Without a limit, as before.
    EXPECT_EQ(store_->get("pk_1/over.jpg")->bytes, std::string(11, 'b'));
}

// Originals of 1 MB and more are read into a kept buffer of huge pages (storage::Bytes).
TEST_F(LocalBlobStoreTest, ALargeObjectIsReadWhole) {
    std::string bytes(Bytes::POOLED_BYTES + 4099, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<char>(i * 31 % 253);
    }
    write_file(root_ / "pk_1/large.png", bytes);
    const auto object = store_->get("pk_1/large.png");
    ASSERT_TRUE(object) << object.error().detail;
    EXPECT_EQ(object->info.size, bytes.size());
    EXPECT_TRUE(object->bytes == bytes);
    EXPECT_EQ(object->info.etag, core::hash128_hex(bytes));
}

TEST_F(LocalBlobStoreTest, InvalidKeysAreRefusedByEveryMethod) {
    for (const auto* key :
         {"../outside", "pk_1/../x", "/abs", "pk_1//x", "pk_1/.tmp-abc", "pk_1/.tmp-dir/x"}) {
        EXPECT_EQ(store_->put(key, "x").error().code, core::Errc::InvalidPath) << key;
        EXPECT_EQ(store_->get(key).error().code, core::Errc::InvalidPath) << key;
        EXPECT_EQ(store_->head(key).error().code, core::Errc::InvalidPath) << key;
        EXPECT_EQ(store_->remove(key).error().code, core::Errc::InvalidPath) << key;
    }
    EXPECT_FALSE(fs::exists(dir_.fs_path() / "outside"));
}

TEST_F(LocalBlobStoreTest, SegmentLongerThanTheFileSystemAllowsIsAnInvalidPath) {
    const auto key = "pk_1/" + std::string(300, 'a');
    EXPECT_EQ(store_->put(key, "x").error().code, core::Errc::InvalidPath);
    EXPECT_EQ(store_->get(key).error().code, core::Errc::InvalidPath);
}

TEST_F(LocalBlobStoreTest, OverwriteReplacesTheObject) {
    ASSERT_TRUE(store_->put("pk_1/x.jpg", "old"));
    const auto stored = store_->put("pk_1/x.jpg", "new bytes");
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->etag, core::hash128_hex("new bytes"));
    EXPECT_EQ(store_->get("pk_1/x.jpg")->bytes, "new bytes");
    EXPECT_THAT(temp_files_under(root_), ::testing::IsEmpty());
}

// The file size limit makes the write fail midway, even for root, like a full disk would.
// Atomic replace is the store's own guarantee on S3 (a PUT or CompleteMultipartUpload shows
// whole or not at all), and it cannot be tested there against s3rver, which rewrites in place
// the file a concurrent GET reads. On the local store it is ours (write aside, rename): here.
TEST_F(LocalBlobStoreTest, ReadersNeverSeeAPartialObject) {
    const std::string a(256 * 1024, 'a');
    const std::string b(512 * 1024, 'b');
    ASSERT_TRUE(store_->put("pk_1/x.jpg", a));
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int i = 0; i < 100; ++i) {
            EXPECT_TRUE(store_->put("pk_1/x.jpg", i % 2 == 0 ? b : a));
        }
        done = true;
    });
    int reads = 0;
    bool whole = true;
    while (whole && (!done || reads < 10)) {
        const auto object = store_->get("pk_1/x.jpg");
        whole = object && (object->bytes == a || object->bytes == b) &&
                object->info.size == object->bytes.size();
        EXPECT_TRUE(whole) << (object ? "size " + std::to_string(object->bytes.size())
                                      : object.error().detail);
        ++reads;
    }
    writer.join();
}

TEST_F(LocalBlobStoreTest, FailedPutLeavesTheOldObjectAndNoTemporaryFile) {
    ASSERT_TRUE(store_->put("pk_1/x.jpg", "old"));
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
    const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved;
    small.rlim_cur = 4096;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);

    const auto failed = store_->put("pk_1/x.jpg", std::string(64 * 1024, 'n'));

    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, previous_handler);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, core::Errc::OriginUnavailable);
    EXPECT_EQ(store_->get("pk_1/x.jpg")->bytes, "old");
    EXPECT_THAT(temp_files_under(root_), ::testing::IsEmpty());
}

TEST_F(LocalBlobStoreTest, PutThroughAnExistingObjectOrOntoAFolderIsAConflict) {
    ASSERT_TRUE(store_->put("pk_1/a", "file"));
    EXPECT_EQ(store_->put("pk_1/a/b", "x").error().code, core::Errc::Conflict);
    ASSERT_TRUE(store_->put("pk_1/dir/file", "x"));
    EXPECT_EQ(store_->put("pk_1/dir", "x").error().code, core::Errc::Conflict);
    EXPECT_EQ(store_->get("pk_1/a")->bytes, "file");
    EXPECT_EQ(store_->get("pk_1/dir/file")->bytes, "x");
}

TEST_F(LocalBlobStoreTest, RemoveDeletesTheObjectAndItsEmptyFolders) {
    ASSERT_TRUE(store_->put("pk_1/a/b/c/x.jpg", "x"));
    ASSERT_TRUE(store_->put("pk_1/a/keep.jpg", "k"));
    ASSERT_TRUE(store_->remove("pk_1/a/b/c/x.jpg"));
    EXPECT_EQ(store_->get("pk_1/a/b/c/x.jpg").error().code, core::Errc::NotFound);
    EXPECT_FALSE(fs::exists(root_ / "pk_1/a/b"));
    EXPECT_TRUE(fs::exists(root_ / "pk_1/a/keep.jpg"));
    EXPECT_TRUE(fs::exists(root_));
    ASSERT_TRUE(store_->remove("pk_1/a/keep.jpg"));
    EXPECT_FALSE(fs::exists(root_ / "pk_1"));
    EXPECT_TRUE(fs::exists(root_));
}

// remove() prunes folders it empties; a put into the same folder at that moment must not fail.
TEST_F(LocalBlobStoreTest, PutSucceedsWhileRemoveEmptiesTheSameFolder) {
    std::atomic<bool> done{false};
    std::thread remover([&] {
        while (!done) {
            if (store_->put("pk_1/d/e/other", "o")) {
                store_->remove("pk_1/d/e/other");
            }
        }
    });
    for (int i = 0; i < 300; ++i) {
        const auto key = "pk_1/d/e/x" + std::to_string(i);
        const auto stored = store_->put(key, "x");
        EXPECT_TRUE(stored) << stored.error().detail;
        EXPECT_TRUE(store_->remove(key));
    }
    done = true;
    remover.join();
}

TEST_F(LocalBlobStoreTest, ListSkipsTemporaryFiles) {
    ASSERT_TRUE(store_->put("pk_1/a.jpg", "x"));
    write_file(root_ / "pk_1/.tmp-0123456789abcdef", "partial");
    EXPECT_THAT(list_keys("pk_1/"), ::testing::ElementsAre("pk_1/a.jpg"));
}

/** `segments` path segments below pk_1: "pk_1/d/d/.../x.jpg". */
std::string deep_key(std::size_t segments) {
    std::string key = "pk_1";
    for (std::size_t i = 1; i < segments; ++i) {
        key += "/d";
    }
    return key + "/x.jpg";
}

TEST_F(LocalBlobStoreTest, PathsDeeperThanTheLimitAreRefusedOnPutAndMissingOnRead) {
    ASSERT_TRUE(store_->put(deep_key(32), "x"));
    EXPECT_EQ(store_->get(deep_key(32))->bytes, "x");
    EXPECT_EQ(store_->put(deep_key(33), "x").error().code, core::Errc::InvalidPath);
    EXPECT_FALSE(fs::exists(root_ / deep_key(33)));
    // Planted by hand (or stored before the limit): out of reach, never listed.
    write_file(root_ / deep_key(33), "planted");
    EXPECT_EQ(store_->get(deep_key(33)).error().code, core::Errc::NotFound);
    EXPECT_EQ(store_->head(deep_key(33)).error().code, core::Errc::NotFound);
    EXPECT_EQ(store_->remove(deep_key(33)).error().code, core::Errc::NotFound);
    EXPECT_THAT(list_keys("pk_1/"), ::testing::ElementsAre(deep_key(32)));
    EXPECT_THAT(list_keys(deep_key(33).substr(0, deep_key(33).size() - 5)), ::testing::IsEmpty());
}

// The two ways of resolving a path: openat2 where the kernel has it, and the step-by-step
// fallback (forced), which must keep the same properties.
class LocalBlobStoreWalkTest : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override {
        root_ = dir_.fs_path() / "originals";
        auto created = LocalBlobStore::create(
            root_, {.max_path_segments = 1000, .use_openat2 = GetParam()});
        ASSERT_TRUE(created) << created.error().detail;
        store_ = std::move(*created);
    }

    std::vector<std::string> list_keys(std::string_view prefix) {
        return keys_listed(*store_, prefix, "", 1000);
    }

    TempDir dir_;
    fs::path root_;
    BlobStorePtr store_;
};

INSTANTIATE_TEST_SUITE_P(Resolution, LocalBlobStoreWalkTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "openat2" : "fallback"; });

std::vector<int> open_fds() {
    std::vector<int> fds;
    for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
        fds.push_back(std::stoi(entry.path().filename().string()));
    }
    return fds;
}

/** Lowers the soft descriptor limit to `headroom` above the highest open descriptor, so that
 *  any walk holding more than that many at once fails; restores it when destroyed. */
class FdLimit {
public:
    explicit FdLimit(int headroom) {
        ::getrlimit(RLIMIT_NOFILE, &saved_);
        const auto fds = open_fds();
        rlimit tight = saved_;
        tight.rlim_cur = static_cast<rlim_t>(*std::max_element(fds.begin(), fds.end()) + headroom);
        ::setrlimit(RLIMIT_NOFILE, &tight);
    }
    ~FdLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
    FdLimit(const FdLimit&) = delete;
    FdLimit& operator=(const FdLimit&) = delete;

private:
    rlimit saved_{};
};

// A 1,024-byte key can have 500 segments: a walk holding one descriptor per folder would need
// 500 of them. With 8 to spare every operation on such a key must still work.
TEST_P(LocalBlobStoreWalkTest, DeepKeysHoldAConstantNumberOfDescriptors) {
    const auto key = deep_key(500);
    ASSERT_LE(key.size(), MAX_KEY_BYTES);
    const auto before = open_fds().size();
    {
        FdLimit limit(8);
        const auto stored = store_->put(key, "deep");
        EXPECT_TRUE(stored) << (stored ? "" : stored.error().detail);
        const auto got = store_->get(key);
        EXPECT_TRUE(got) << (got ? "" : got.error().detail);
        EXPECT_TRUE(store_->head(key));
        EXPECT_THAT(list_keys("pk_1/"), ::testing::ElementsAre(key));
        EXPECT_TRUE(store_->remove(key));
    }
    EXPECT_FALSE(fs::exists(root_ / "pk_1")); // every emptied folder pruned
    EXPECT_EQ(open_fds().size(), before);
}

TEST_P(LocalBlobStoreWalkTest, SymlinksAreNeverFollowedOutOfTheRoot) {
    write_file(dir_.fs_path() / "secret/passwd", "root:x:0:0");
    fs::create_directories(root_ / "pk_1");
    fs::create_directory_symlink(dir_.fs_path() / "secret", root_ / "pk_1/linked");
    fs::create_symlink(dir_.fs_path() / "secret/passwd", root_ / "pk_1/passwd");
    // Deep down a long path too, and a link that stays inside the root: never followed either.
    const auto deep = deep_key(100);
    const auto deep_folder = root_ / deep.substr(0, deep.size() - 6);
    fs::create_directories(deep_folder);
    fs::create_directory_symlink(dir_.fs_path() / "secret", deep_folder / "linked");
    fs::create_directory_symlink(root_ / "pk_1", root_ / "pk_1/inside");
    write_file(root_ / "pk_1/real.jpg", "r");

    for (const auto& key : std::vector<std::string>{"pk_1/linked/passwd", "pk_1/passwd",
                                                    "pk_1/inside/real.jpg",
                                  deep.substr(0, deep.size() - 5) + "linked/passwd"}) {
        EXPECT_EQ(store_->get(key).error().code, core::Errc::NotFound) << key;
        EXPECT_EQ(store_->head(key).error().code, core::Errc::NotFound) << key;
        EXPECT_EQ(store_->remove(key).error().code, core::Errc::NotFound) << key;
    }
    EXPECT_FALSE(store_->put("pk_1/linked/new", "x"));
    EXPECT_FALSE(store_->put(deep.substr(0, deep.size() - 5) + "linked/new", "x"));
    EXPECT_FALSE(fs::exists(dir_.fs_path() / "secret/new"));
    EXPECT_THAT(list_keys(""), ::testing::ElementsAre("pk_1/real.jpg"));
    EXPECT_THAT(list_keys("pk_1/linked/"), ::testing::IsEmpty());
    EXPECT_EQ(read_file(dir_.fs_path() / "secret/passwd"), "root:x:0:0");

    // A put over a symlink replaces the link itself; the file it pointed at is untouched.
    ASSERT_TRUE(store_->put("pk_1/passwd", "mine"));
    EXPECT_EQ(store_->get("pk_1/passwd")->bytes, "mine");
    EXPECT_EQ(read_file(dir_.fs_path() / "secret/passwd"), "root:x:0:0");
}

TEST_F(LocalBlobStoreTest, CheckFailsWhenTheRootIsGone) {
    fs::remove_all(root_);
    const auto checked = store_->check();
    ASSERT_FALSE(checked);
    EXPECT_EQ(checked.error().code, core::Errc::OriginUnavailable);
    // A missing root is a broken store, not a missing image (which would be cached as a 404).
    EXPECT_EQ(store_->get("pk_1/x").error().code, core::Errc::OriginUnavailable);
    EXPECT_EQ(store_->list("pk_1/", "", 10).error().code, core::Errc::OriginUnavailable);
}

} // namespace
} // namespace cdn::storage
