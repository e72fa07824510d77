// One contract for every BlobStore: the same tests run on the local store and on the S3 store
// (s3rver behind the SigV4-verifying proxy, tests/support/s3rver_process.h). What only one store
// does (the local store's files and folders, S3's signatures) is tested beside each store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <memory>

#include "s3rver_process.h"
#include "storage/local_blob_store.h"
#include "storage/s3_blob_store.h"
#include "temp_dir.h"

namespace cdn::storage {
namespace {

enum class Backend { Local, S3 };

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
    return info.param == Backend::Local ? "Local" : "S3";
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/** The S3 store of these tests, on the binary's one s3rver (started on first use). */
S3Options s3_options() {
    static test::S3rverProcess server;
    return server.client_options();
}

/** A client's PUT of `body` with `content_type` to a presigned URL: the answer's status. */
long put_to(const std::string& url, const std::string& content_type, const std::string& body) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
        curl_slist_append(nullptr, ("Content-Type: " + content_type).c_str()),
        &curl_slist_free_all);
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION,
                     +[](char*, std::size_t size, std::size_t count, void*) { return size * count; });
    long status = 0;
    if (curl_easy_perform(curl.get()) == CURLE_OK) {
        curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    }
    return status;
}

class BlobStoreContract : public ::testing::TestWithParam<Backend> {
protected:
    void SetUp() override {
        if (GetParam() == Backend::Local) {
            auto created = LocalBlobStore::create(dir_.fs_path() / "originals");
            ASSERT_TRUE(created) << created.error().detail;
            store_ = std::move(*created);
            return;
        }
        auto created = S3BlobStore::create(s3_options());
        ASSERT_TRUE(created) << created.error().detail;
        store_ = std::move(*created);
        empty_the_bucket();
    }

    /** The bucket outlives a test: each starts from an empty one. */
    void empty_the_bucket() {
        auto page = store_->list("", "", 1000);
        ASSERT_TRUE(page) << page.error().detail;
        for (const auto& item : page->items) {
            ASSERT_TRUE(store_->remove(item.key));
        }
        ASSERT_FALSE(page->next_after);
    }

    std::vector<std::string> list_keys(std::string_view prefix, std::string_view after = "",
                                       std::size_t limit = 1000) {
        auto page = store_->list(prefix, after, limit);
        EXPECT_TRUE(page) << page.error().detail;
        std::vector<std::string> keys;
        for (const auto& item : page ? page->items : std::vector<ObjectInfo>{}) {
            keys.push_back(item.key);
        }
        return keys;
    }

    test::TempDir dir_;
    BlobStorePtr store_;
};

TEST_P(BlobStoreContract, IsReady) {
    EXPECT_TRUE(store_->check());
}

TEST_P(BlobStoreContract, PutThenGetReturnsTheBytesAndMetadata) {
    const std::string bytes("\x89PNG\r\n\x1a\n with a NUL \0 inside", 28);
    const auto stored = store_->put("pk_1/a/b/cat.png", bytes);
    ASSERT_TRUE(stored) << stored.error().detail;
    EXPECT_EQ(stored->key, "pk_1/a/b/cat.png");
    EXPECT_EQ(stored->size, bytes.size());
    EXPECT_FALSE(stored->etag.empty());
    // Unquoted and nothing but the hash: it goes into the edge's ETag header as it is.
    EXPECT_TRUE(std::all_of(stored->etag.begin(), stored->etag.end(),
                            [](unsigned char c) { return std::isalnum(c) || c == '-'; }))
        << "etag: [" << stored->etag << "]";
    EXPECT_NEAR(static_cast<double>(stored->last_modified), static_cast<double>(unix_now()), 5);

    const auto object = store_->get("pk_1/a/b/cat.png");
    ASSERT_TRUE(object) << object.error().detail;
    EXPECT_EQ(object->bytes, bytes);
    EXPECT_EQ(object->info.key, stored->key);
    EXPECT_EQ(object->info.size, stored->size);
    EXPECT_EQ(object->info.etag, stored->etag);
    EXPECT_NEAR(static_cast<double>(object->info.last_modified),
                static_cast<double>(stored->last_modified), 2);

    const auto info = store_->head("pk_1/a/b/cat.png");
    ASSERT_TRUE(info) << info.error().detail;
    EXPECT_EQ(info->size, bytes.size());
    EXPECT_EQ(info->etag, stored->etag);
    EXPECT_EQ(info->last_modified, object->info.last_modified);
}

TEST_P(BlobStoreContract, EtagIsEqualForEqualBytesOnly) {
    const auto a = store_->put("pk_1/a", "same");
    const auto b = store_->put("pk_1/b", "same");
    const auto c = store_->put("pk_1/c", "other");
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(a->etag, b->etag);
    EXPECT_NE(a->etag, c->etag);
}

TEST_P(BlobStoreContract, EmptyObjectsRoundTrip) {
    ASSERT_TRUE(store_->put("pk_1/empty", ""));
    const auto object = store_->get("pk_1/empty");
    ASSERT_TRUE(object) << object.error().detail;
    EXPECT_EQ(object->bytes, "");
    EXPECT_EQ(object->info.size, 0u);
}

TEST_P(BlobStoreContract, MissingObjectsAreNotFound) {
    ASSERT_TRUE(store_->put("pk_1/folder/x.jpg", "x"));
    for (const auto* key :
         {"pk_1/nothing.jpg", "pk_2/x.jpg", "pk_1/folder", "pk_1/folder/x.jpg/y"}) {
        const auto got = store_->get(key);
        ASSERT_FALSE(got) << key;
        EXPECT_EQ(got.error().code, core::Errc::NotFound) << key;
        const auto head = store_->head(key);
        ASSERT_FALSE(head) << key;
        EXPECT_EQ(head.error().code, core::Errc::NotFound) << key;
        const auto removed = store_->remove(key);
        ASSERT_FALSE(removed) << key;
        EXPECT_EQ(removed.error().code, core::Errc::NotFound) << key;
    }
}

TEST_P(BlobStoreContract, InvalidKeysAreRefusedByEveryMethod) {
    for (const auto* key : {"../outside", "pk_1/../x", "/abs", "pk_1//x", "pk_1/./x", ""}) {
        EXPECT_EQ(store_->put(key, "x").error().code, core::Errc::InvalidPath) << key;
        EXPECT_EQ(store_->get(key).error().code, core::Errc::InvalidPath) << key;
        EXPECT_EQ(store_->head(key).error().code, core::Errc::InvalidPath) << key;
        EXPECT_EQ(store_->remove(key).error().code, core::Errc::InvalidPath) << key;
    }
    EXPECT_THAT(list_keys(""), ::testing::IsEmpty());
}

// The characters S3 escapes in a path (and SigV4 encodes once) round-trip on every store.
TEST_P(BlobStoreContract, KeysWithCharactersThatNeedEscapingRoundTrip) {
    const std::vector<std::string> keys = {"pk_1/a b.jpg", "pk_1/a+b.jpg", "pk_1/100%.jpg",
                                           "pk_1/été/ünï.png", "pk_1/%20 +~!$&'()*,;=@.gif"};
    for (const auto& key : keys) {
        const auto stored = store_->put(key, "bytes of " + key);
        ASSERT_TRUE(stored) << key << ": " << stored.error().detail;
        const auto object = store_->get(key);
        ASSERT_TRUE(object) << key << ": " << object.error().detail;
        EXPECT_EQ(object->bytes, "bytes of " + key);
        EXPECT_TRUE(store_->head(key)) << key;
    }
    auto sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(list_keys("pk_1/"), sorted);
    EXPECT_THAT(list_keys("pk_1/a "), ::testing::ElementsAre("pk_1/a b.jpg"));
    EXPECT_THAT(list_keys("pk_1/", "pk_1/a b.jpg", 1), ::testing::ElementsAre("pk_1/a+b.jpg"));
    for (const auto& key : keys) {
        EXPECT_TRUE(store_->remove(key)) << key;
        EXPECT_EQ(store_->get(key).error().code, core::Errc::NotFound) << key;
    }
}

TEST_P(BlobStoreContract, OverwriteReplacesTheObject) {
    const auto old = store_->put("pk_1/x.jpg", "old");
    const auto stored = store_->put("pk_1/x.jpg", "new bytes");
    ASSERT_TRUE(old && stored);
    EXPECT_NE(stored->etag, old->etag);
    EXPECT_EQ(store_->get("pk_1/x.jpg")->bytes, "new bytes");
    EXPECT_EQ(store_->head("pk_1/x.jpg")->etag, stored->etag);
    EXPECT_THAT(list_keys("pk_1/"), ::testing::ElementsAre("pk_1/x.jpg"));
}

TEST_P(BlobStoreContract, RemoveDeletesOnlyThatObject) {
    ASSERT_TRUE(store_->put("pk_1/a/b/c/x.jpg", "x"));
    ASSERT_TRUE(store_->put("pk_1/a/keep.jpg", "k"));
    ASSERT_TRUE(store_->remove("pk_1/a/b/c/x.jpg"));
    EXPECT_EQ(store_->get("pk_1/a/b/c/x.jpg").error().code, core::Errc::NotFound);
    EXPECT_THAT(list_keys("pk_1/"), ::testing::ElementsAre("pk_1/a/keep.jpg"));
    EXPECT_TRUE(store_->check());
}

TEST_P(BlobStoreContract, ListIsOrderedByKeyAndFilteredByPrefix) {
    for (const auto* key : {"pk_1/z.jpg", "pk_1/photos/b.jpg", "pk_1/a.jpg", "pk_1/photos/a.jpg",
                            "pk_1/photo.jpg", "pk_1/p/q/r.jpg", "pk_10/a.jpg", "pk_2/a.jpg"}) {
        ASSERT_TRUE(store_->put(key, key));
    }
    EXPECT_THAT(list_keys("pk_1/"),
                ::testing::ElementsAre("pk_1/a.jpg", "pk_1/p/q/r.jpg", "pk_1/photo.jpg",
                                       "pk_1/photos/a.jpg", "pk_1/photos/b.jpg", "pk_1/z.jpg"));
    EXPECT_THAT(list_keys("pk_1/photo"),
                ::testing::ElementsAre("pk_1/photo.jpg", "pk_1/photos/a.jpg", "pk_1/photos/b.jpg"));
    EXPECT_THAT(list_keys("pk_1/photos/"),
                ::testing::ElementsAre("pk_1/photos/a.jpg", "pk_1/photos/b.jpg"));
    EXPECT_THAT(list_keys("pk_1"), ::testing::SizeIs(7)); // pk_1/ and pk_10/
    EXPECT_THAT(list_keys(""), ::testing::SizeIs(8));
    EXPECT_THAT(list_keys("pk_3/"), ::testing::IsEmpty());
    EXPECT_THAT(list_keys("pk_1/a.jpg/"), ::testing::IsEmpty());
}

TEST_P(BlobStoreContract, ListItemsCarrySizeAndTime) {
    ASSERT_TRUE(store_->put("pk_1/a.jpg", "12345"));
    const auto page = store_->list("pk_1/", "", 10);
    ASSERT_TRUE(page);
    ASSERT_EQ(page->items.size(), 1u);
    EXPECT_EQ(page->items[0].size, 5u);
    EXPECT_NEAR(static_cast<double>(page->items[0].last_modified), static_cast<double>(unix_now()),
                5);
    EXPECT_EQ(page->next_after, std::nullopt);
}

TEST_P(BlobStoreContract, ListPagesThroughEveryKeyOnce) {
    std::vector<std::string> expected;
    for (int i = 0; i < 23; ++i) {
        const auto key = "pk_1/" + std::string(i % 3 == 0 ? "d/" : "") + std::to_string(i * 7 % 23);
        ASSERT_TRUE(store_->put(key, "x"));
        expected.push_back(key);
    }
    std::sort(expected.begin(), expected.end());
    std::vector<std::string> seen;
    std::string after;
    int pages = 0;
    while (true) {
        auto page = store_->list("pk_1/", after, 5);
        ASSERT_TRUE(page);
        ASSERT_LE(page->items.size(), 5u);
        for (const auto& item : page->items) {
            seen.push_back(item.key);
        }
        ++pages;
        if (!page->next_after) {
            break;
        }
        EXPECT_EQ(*page->next_after, page->items.back().key);
        after = *page->next_after;
    }
    EXPECT_EQ(seen, expected);
    EXPECT_EQ(pages, 5);
}

TEST_P(BlobStoreContract, ListOfAnExactFullPageHasNoNextPage) {
    ASSERT_TRUE(store_->put("pk_1/a", "x"));
    ASSERT_TRUE(store_->put("pk_1/b", "x"));
    const auto page = store_->list("pk_1/", "", 2);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->items.size(), 2u);
    EXPECT_EQ(page->next_after, std::nullopt);
}

TEST_P(BlobStoreContract, ListRefusesAPrefixThatLeavesTheRoot) {
    if (GetParam() == Backend::Local) {
        const auto secret = dir_.fs_path() / "secret";
        std::filesystem::create_directories(secret);
        std::ofstream(secret / "passwd") << "root:x:0:0";
    }
    for (const auto* prefix : {"../secret/", "pk_1/../../", "/etc/"}) {
        const auto page = store_->list(prefix, "", 10);
        ASSERT_FALSE(page) << prefix;
        EXPECT_EQ(page.error().code, core::Errc::InvalidPath) << prefix;
    }
}

// A staged upload becomes the original: the target replaced whole, the staged object gone.
TEST_P(BlobStoreContract, MoveReplacesTheTargetAndRemovesTheSource) {
    const std::string target = "pk_1/a b+é%.png";
    ASSERT_TRUE(store_->put("_uploads/up_1", "new bytes"));
    ASSERT_TRUE(store_->put(target, "old"));
    const auto moved = store_->move("_uploads/up_1", target);
    ASSERT_TRUE(moved) << moved.error().detail;
    EXPECT_EQ(moved->key, target);
    EXPECT_EQ(moved->size, 9u);
    EXPECT_EQ(moved->etag, store_->head(target)->etag);
    EXPECT_EQ(store_->get(target)->bytes, "new bytes");
    EXPECT_EQ(store_->head("_uploads/up_1").error().code, core::Errc::NotFound);
    EXPECT_THAT(list_keys(""), ::testing::ElementsAre(target));

    EXPECT_EQ(store_->move("_uploads/up_1", "pk_1/x.png").error().code, core::Errc::NotFound);
    EXPECT_EQ(store_->head("pk_1/x.png").error().code, core::Errc::NotFound);
    EXPECT_EQ(store_->move("_uploads/../x", "pk_1/x.png").error().code, core::Errc::InvalidPath);
}

// Where a store takes uploads straight from clients, the URL takes only the declared type and
// size: S3 refuses any other (the proxy checks the signature over both headers).
TEST_P(BlobStoreContract, PresignedPutsTakeOnlyTheDeclaredTypeAndSize) {
    const auto presigned = store_->presign_put("_uploads/up_2", "image/png", 5, 60);
    if (GetParam() == Backend::Local) {
        EXPECT_FALSE(presigned) << "the local store's uploads go through the API";
        return;
    }
    ASSERT_TRUE(presigned);
    EXPECT_THAT(presigned->headers,
                ::testing::ElementsAre(::testing::Pair("Content-Type", "image/png")));
    EXPECT_EQ(put_to(presigned->url, "image/jpeg", "12345"), 403);
    EXPECT_EQ(put_to(presigned->url, "image/png", "123456"), 403);
    EXPECT_EQ(store_->head("_uploads/up_2").error().code, core::Errc::NotFound);
    EXPECT_EQ(put_to(presigned->url, "image/png", "12345"), 200);
    const auto staged = store_->head("_uploads/up_2");
    ASSERT_TRUE(staged) << staged.error().detail;
    EXPECT_EQ(staged->size, 5u);
    EXPECT_EQ(staged->content_type, "image/png");
    EXPECT_FALSE(store_->presign_put("_uploads/../x", "image/png", 5, 60));
}

INSTANTIATE_TEST_SUITE_P(Stores, BlobStoreContract,
                         ::testing::Values(Backend::Local, Backend::S3), backend_name);

} // namespace
} // namespace cdn::storage
