// DiskCache::get_to_send and find_open: a disk hit whose body stays in its file (sendfile).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "cache/disk_cache.h"
#include "core/hash.h"
#include "poll_until.h"
#include "temp_dir.h"
#include "variant_support.h"

namespace cdn::cache {
namespace {

namespace fs = std::filesystem;
using cdn::test::TempDir;
using testing::make_variant;

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::int64_t ctime_ns(const fs::path& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec;
}

/** Until a file written now gets a later ctime than `path` (file times may be coarse ticks): a
 *  rewrite in the same tick as the verification could not be told from the verified file. */
bool file_clock_passed(const fs::path& path, const fs::path& scratch) {
    return cdn::test::poll_until([&] {
        std::ofstream(scratch) << "tick";
        return ctime_ns(scratch) > ctime_ns(path);
    });
}

/** What sendfile would send: the file's bytes at the variant's body range. */
std::string body_in_file(const CachedVariant& v) {
    std::string body(v.body_file->size, '\0');
    const auto n = ::pread(v.body_file->fd.get(), body.data(), body.size(),
                           static_cast<off_t>(v.body_file->offset));
    return n == static_cast<ssize_t>(body.size()) ? body : std::string();
}

class DiskCacheSendTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = DiskCache::open(dir_.fs_path() / "cache", 64 * 1024 * 1024);
        ASSERT_TRUE(opened) << opened.error().detail;
        cache_ = std::move(*opened);
    }
    fs::path file_of(const std::string& key) const {
        const auto hash = core::hash128_hex(key);
        return dir_.fs_path() / "cache" / hash.substr(0, 2) / hash;
    }
    /** Rewrites the file in place (same inode): `edit` changes its bytes. */
    void rewrite(const std::string& key, const std::function<void(std::string&)>& edit) {
        auto bytes = read_file(file_of(key));
        edit(bytes);
        std::ofstream(file_of(key), std::ios::binary | std::ios::trunc) << bytes;
    }

    TempDir dir_;
    std::unique_ptr<DiskCache> cache_;
};

TEST_F(DiskCacheSendTest, TheBodyStaysInTheFileWithTheVariantsMetadata) {
    const auto v = make_variant("imagecdn:pk:a.jpg:h1", 5000, 'b');
    cache_->put(*v);
    const auto sent = cache_->get_to_send(v->key);
    ASSERT_NE(sent, nullptr);
    ASSERT_NE(sent->body_file, nullptr);
    EXPECT_TRUE(sent->body.empty());
    EXPECT_EQ(sent->body_size(), v->body.size());
    EXPECT_EQ(body_in_file(*sent), v->body);
    EXPECT_EQ(sent->etag, v->etag);
    EXPECT_EQ(sent->content_type, v->content_type);
    EXPECT_EQ(sent->last_modified, v->last_modified);
    // Kept open: the next hit needs no read.
    EXPECT_EQ(cache_->find_open(v->key), sent);
    EXPECT_EQ(cache_->find_open("imagecdn:pk:other:h1"), nullptr);
}

TEST_F(DiskCacheSendTest, AFileRewrittenAfterItWasVerifiedIsNotSent) {
    const auto v = make_variant("flipped", 5000);
    cache_->put(*v);
    ASSERT_NE(cache_->get_to_send(v->key), nullptr);
    ASSERT_TRUE(file_clock_passed(file_of(v->key), dir_.fs_path() / "scratch"));
    rewrite(v->key, [](std::string& bytes) { bytes[bytes.size() - 100] ^= 0x01; });
    EXPECT_EQ(cache_->find_open(v->key), nullptr); // its ctime changed: verify again
    EXPECT_EQ(cache_->get_to_send(v->key), nullptr);
    EXPECT_FALSE(fs::exists(file_of(v->key)));
    EXPECT_EQ(cache_->entries(), 0u);
}

TEST_F(DiskCacheSendTest, ATruncatedFileIsNotSent) {
    const auto v = make_variant("torn", 5000);
    cache_->put(*v);
    rewrite(v->key, [](std::string& bytes) { bytes.resize(bytes.size() - 10); });
    EXPECT_EQ(cache_->get_to_send(v->key), nullptr);
    EXPECT_EQ(cache_->entries(), 0u);
}

TEST_F(DiskCacheSendTest, AReplacedOrPurgedEntryIsNoLongerOpen) {
    const auto v = make_variant("imagecdn:pk:a.jpg:h1", 5000, 'a');
    cache_->put(*v);
    const auto before = cache_->get_to_send(v->key);
    ASSERT_NE(before, nullptr);
    cache_->put(*make_variant(v->key, 3000, 'c'));
    EXPECT_EQ(cache_->find_open(v->key), nullptr);
    const auto after = cache_->get_to_send(v->key);
    ASSERT_NE(after, nullptr);
    EXPECT_EQ(body_in_file(*after), std::string(3000, 'c'));
    // An answer still being sent keeps the bytes it was given.
    EXPECT_EQ(body_in_file(*before), v->body);
    EXPECT_EQ(cache_->erase_prefix("imagecdn:pk:"), 1u);
    EXPECT_EQ(cache_->find_open(v->key), nullptr);
}

TEST_F(DiskCacheSendTest, AtMostMaxOpenFilesAreKeptOpen) {
    for (std::size_t i = 0; i <= DiskCache::MAX_OPEN_FILES; ++i) {
        const auto key = "k" + std::to_string(i);
        cache_->put(*make_variant(key, 10));
        ASSERT_NE(cache_->get_to_send(key), nullptr) << key;
    }
    EXPECT_EQ(cache_->find_open("k0"), nullptr); // the oldest was closed
    EXPECT_NE(cache_->find_open("k1"), nullptr);
    EXPECT_NE(cache_->find_open("k" + std::to_string(DiskCache::MAX_OPEN_FILES)), nullptr);
}

} // namespace
} // namespace cdn::cache
