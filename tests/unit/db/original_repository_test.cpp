#include "db/original_repository.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::make_customer;
using testing::MigratedTest;

class OriginalRepositoryTest : public MigratedTest {
protected:
    void SetUp() override {
        MigratedTest::SetUp();
        CustomerRepository customers(*db_);
        ASSERT_TRUE(customers.insert(make_customer("c1")));
        ASSERT_TRUE(customers.insert(make_customer("c2")));
    }

    void put(const std::string& customer, const std::string& path, std::int64_t bytes = 10,
             std::int64_t at = 100) {
        auto done = OriginalRepository(*db_).upsert(customer, make_original(path, bytes, at));
        ASSERT_TRUE(done) << done.error().detail;
    }

    std::vector<std::string> paths(const std::string& customer, const std::string& prefix,
                                   const std::string& after, std::size_t limit) {
        auto listed = OriginalRepository(*db_).list(customer, prefix, after, limit);
        EXPECT_TRUE(listed) << listed.error().detail;
        std::vector<std::string> out;
        for (const auto& original : listed.value()) {
            out.push_back(original.path);
        }
        return out;
    }

    static OriginalRecord make_original(const std::string& path, std::int64_t bytes,
                                        std::int64_t at) {
        OriginalRecord original;
        original.path = path;
        original.bytes = bytes;
        original.content_type = "image/png";
        original.width = 40;
        original.height = 30;
        original.etag = "etag-" + path + "-" + std::to_string(bytes);
        original.created_at = at;
        original.updated_at = at;
        return original;
    }
};

CDN_ON_EVERY_ENGINE(OriginalRepositoryTest);

TEST_P(OriginalRepositoryTest, UpsertedOriginalIsFoundWithEveryField) {
    put("c1", "a/b.png", 1234, 100);
    auto found = OriginalRepository(*db_).find("c1", "a/b.png");
    ASSERT_TRUE(found) << found.error().detail;
    ASSERT_TRUE(found->has_value());
    const auto& original = **found;
    EXPECT_EQ(original.path, "a/b.png");
    EXPECT_EQ(original.bytes, 1234);
    EXPECT_EQ(original.content_type, "image/png");
    EXPECT_EQ(original.width, 40);
    EXPECT_EQ(original.height, 30);
    EXPECT_EQ(original.etag, "etag-a/b.png-1234");
    EXPECT_EQ(original.created_at, 100);
    EXPECT_EQ(original.updated_at, 100);
}

TEST_P(OriginalRepositoryTest, UnknownDimensionsAreNull) {
    auto original = make_original("x.svg", 5, 1);
    original.width.reset();
    original.height.reset();
    ASSERT_TRUE(OriginalRepository(*db_).upsert("c1", original));
    const auto found = OriginalRepository(*db_).find("c1", "x.svg").value();
    ASSERT_TRUE(found);
    EXPECT_FALSE(found->width);
    EXPECT_FALSE(found->height);
}

TEST_P(OriginalRepositoryTest, ReplacingKeepsCreatedAtAndUpdatesTheRest) {
    put("c1", "p.png", 10, 100);
    auto replacement = make_original("p.png", 20, 200);
    replacement.content_type = "image/jpeg";
    replacement.width = 7;
    ASSERT_TRUE(OriginalRepository(*db_).upsert("c1", replacement));
    const auto found = OriginalRepository(*db_).find("c1", "p.png").value();
    ASSERT_TRUE(found);
    EXPECT_EQ(found->bytes, 20);
    EXPECT_EQ(found->content_type, "image/jpeg");
    EXPECT_EQ(found->width, 7);
    EXPECT_EQ(found->etag, "etag-p.png-20");
    EXPECT_EQ(found->created_at, 100);
    EXPECT_EQ(found->updated_at, 200);
}

TEST_P(OriginalRepositoryTest, CustomersNeverSeeEachOthersOriginals) {
    put("c1", "same.png", 10);
    put("c2", "same.png", 30);
    put("c2", "other.png", 5);
    EXPECT_EQ(OriginalRepository(*db_).find("c1", "same.png").value()->bytes, 10);
    EXPECT_EQ(OriginalRepository(*db_).find("c2", "same.png").value()->bytes, 30);
    EXPECT_FALSE(OriginalRepository(*db_).find("c1", "other.png").value());
    EXPECT_EQ(paths("c1", "", "", 10), std::vector<std::string>{"same.png"});
    EXPECT_EQ(OriginalRepository(*db_).total_bytes("c1").value(), 10);
    EXPECT_EQ(OriginalRepository(*db_).total_bytes("c2").value(), 35);
    EXPECT_EQ(OriginalRepository(*db_).total_bytes("nobody").value(), 0);
}

TEST_P(OriginalRepositoryTest, RemoveSaysWhetherThereWasARow) {
    put("c1", "a.png");
    EXPECT_FALSE(OriginalRepository(*db_).remove("c2", "a.png").value());
    EXPECT_TRUE(OriginalRepository(*db_).remove("c1", "a.png").value());
    EXPECT_FALSE(OriginalRepository(*db_).remove("c1", "a.png").value());
    EXPECT_FALSE(OriginalRepository(*db_).find("c1", "a.png").value());
}

TEST_P(OriginalRepositoryTest, ListIsInByteOrderAndPagesByKeyset) {
    for (const auto* path : {"b.png", "a/z.png", "B.png", "a.png", "a/b.png", "\xC3\xA9.png"}) {
        put("c1", path);
    }
    EXPECT_EQ(paths("c1", "", "", 100),
              (std::vector<std::string>{"B.png", "a.png", "a/b.png", "a/z.png", "b.png",
                                        "\xC3\xA9.png"}));
    EXPECT_EQ(paths("c1", "", "", 2), (std::vector<std::string>{"B.png", "a.png"}));
    EXPECT_EQ(paths("c1", "", "a.png", 2), (std::vector<std::string>{"a/b.png", "a/z.png"}));
    EXPECT_EQ(paths("c1", "", "b.png", 2), (std::vector<std::string>{"\xC3\xA9.png"}));
    // A cursor need not name an existing row.
    EXPECT_EQ(paths("c1", "", "a/c", 10),
              (std::vector<std::string>{"a/z.png", "b.png", "\xC3\xA9.png"}));
}

TEST_P(OriginalRepositoryTest, PrefixSelectsExactlyItsPaths) {
    for (const auto* path : {"a.png", "a/b.png", "a/c/d.png", "a0.png", "ab.png", "b/a.png"}) {
        put("c1", path);
    }
    EXPECT_EQ(paths("c1", "a/", "", 10),
              (std::vector<std::string>{"a/b.png", "a/c/d.png"}));
    EXPECT_EQ(paths("c1", "a", "", 10),
              (std::vector<std::string>{"a.png", "a/b.png", "a/c/d.png", "a0.png", "ab.png"}));
    EXPECT_EQ(paths("c1", "a/", "a/b.png", 10), std::vector<std::string>{"a/c/d.png"});
    EXPECT_TRUE(paths("c1", "zz", "", 10).empty());
    // LIKE wildcards are plain characters in a prefix.
    put("c1", "%_x.png");
    EXPECT_EQ(paths("c1", "%_", "", 10), std::vector<std::string>{"%_x.png"});
    EXPECT_TRUE(paths("c1", "%", "", 10).size() == 1);
}

TEST_P(OriginalRepositoryTest, PrefixUpperBoundIsValidAndExclusive) {
    EXPECT_EQ(prefix_upper_bound("a/"), "a0");
    EXPECT_EQ(prefix_upper_bound("ab"), "ac");
    EXPECT_EQ(prefix_upper_bound("a\xC3\xA9"), "b");
    EXPECT_EQ(prefix_upper_bound("\xC3\xA9"), std::nullopt);
    EXPECT_EQ(prefix_upper_bound(""), std::nullopt);
    // Non-ASCII prefixes still list exactly their paths.
    put("c1", "\xC3\xA9t\xC3\xA9/1.png");
    put("c1", "\xC3\xA9t\xC3\xA9/2.png");
    put("c1", "\xC3\xA9z.png");
    EXPECT_EQ(paths("c1", "\xC3\xA9t\xC3\xA9", "", 10),
              (std::vector<std::string>{"\xC3\xA9t\xC3\xA9/1.png", "\xC3\xA9t\xC3\xA9/2.png"}));
    EXPECT_EQ(paths("c1", "\xC3\xA9", "", 10).size(), 3U);
}

TEST_P(OriginalRepositoryTest, PagingWhileRowsAreAddedNeverRepeatsOrSkips) {
    for (int i = 0; i < 20; i += 2) {
        put("c1", "img-" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".png");
    }
    std::vector<std::string> seen;
    std::string after;
    int added = 1;
    for (;;) {
        auto page = paths("c1", "", after, 3);
        if (page.empty()) {
            break;
        }
        seen.insert(seen.end(), page.begin(), page.end());
        after = page.back();
        // Rows before and after the cursor arrive between pages.
        put("c1", "img-" + std::string(added < 10 ? "0" : "") + std::to_string(added) + ".png");
        put("c1", "aaa-" + std::to_string(added) + ".png");
        added += 2;
    }
    std::vector<std::string> original;
    for (int i = 0; i < 20; i += 2) {
        original.push_back("img-" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".png");
    }
    for (const auto& path : original) {
        EXPECT_EQ(std::count(seen.begin(), seen.end(), path), 1) << path;
    }
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
}

TEST_P(OriginalRepositoryTest, UnknownCustomerIsRefusedByItsForeignKey) {
    EXPECT_FALSE(OriginalRepository(*db_).upsert("ghost", make_original("a.png", 1, 1)));
}

} // namespace
} // namespace cdn::db
