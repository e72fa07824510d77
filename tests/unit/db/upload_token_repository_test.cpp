#include "db/upload_token_repository.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::make_customer;
using testing::MigratedTest;

constexpr std::int64_t NOW = 1'700'000'000;

class UploadTokenRepositoryTest : public MigratedTest {
protected:
    void SetUp() override {
        MigratedTest::SetUp();
        ASSERT_TRUE(CustomerRepository(*db_).insert(make_customer("c1")));
    }

    static UploadTokenRecord make_token(const std::string& id) {
        UploadTokenRecord token;
        token.id = id;
        token.customer_id = "c1";
        token.path = "photos/a.jpg";
        token.content_type = "image/jpeg";
        token.max_bytes = 5000;
        token.created_at = NOW;
        token.expires_at = NOW + 900;
        return token;
    }
};

CDN_ON_EVERY_ENGINE(UploadTokenRepositoryTest);

TEST_P(UploadTokenRepositoryTest, InsertedTokenIsFoundWithEveryField) {
    UploadTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1")));
    const auto found = tokens.find("t1").value();
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, "t1");
    EXPECT_EQ(found->customer_id, "c1");
    EXPECT_EQ(found->path, "photos/a.jpg");
    EXPECT_EQ(found->content_type, "image/jpeg");
    EXPECT_EQ(found->max_bytes, 5000);
    EXPECT_EQ(found->created_at, NOW);
    EXPECT_EQ(found->expires_at, NOW + 900);
    EXPECT_FALSE(found->used_at);
    EXPECT_TRUE(UploadTokenRepository::usable(*found, NOW));
    EXPECT_FALSE(tokens.find("t2").value());
}

TEST_P(UploadTokenRepositoryTest, DuplicateIdIsAConflict) {
    UploadTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1")));
    const auto again = tokens.insert(make_token("t1"));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, core::Errc::Conflict);
}

TEST_P(UploadTokenRepositoryTest, ConsumedOnceOnly) {
    UploadTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1")));
    EXPECT_TRUE(tokens.consume("t1", NOW + 10).value());
    EXPECT_FALSE(tokens.consume("t1", NOW + 11).value());
    const auto found = tokens.find("t1").value();
    ASSERT_TRUE(found);
    EXPECT_EQ(found->used_at, NOW + 10);
    EXPECT_FALSE(UploadTokenRepository::usable(*found, NOW + 11));
}

TEST_P(UploadTokenRepositoryTest, UnknownTokenIsNotConsumed) {
    EXPECT_FALSE(UploadTokenRepository(*db_).consume("nope", NOW).value());
}

TEST_P(UploadTokenRepositoryTest, ExpiredTokenIsRefusedFromItsExpirySecond) {
    UploadTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1")));
    const auto token = tokens.find("t1").value().value();
    EXPECT_TRUE(UploadTokenRepository::usable(token, NOW + 899));
    EXPECT_FALSE(UploadTokenRepository::usable(token, NOW + 900));
    EXPECT_FALSE(tokens.consume("t1", NOW + 900).value());
    EXPECT_FALSE(tokens.consume("t1", NOW + 3600).value());
    EXPECT_FALSE(tokens.find("t1").value()->used_at);
    // One second earlier it still works.
    EXPECT_TRUE(tokens.consume("t1", NOW + 899).value());
}

TEST_P(UploadTokenRepositoryTest, ReleasedTokenCanBeConsumedAgainUntilItExpires) {
    UploadTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1")));
    ASSERT_TRUE(tokens.consume("t1", NOW + 5).value());
    // Only the use that consumed it gives it back.
    ASSERT_TRUE(tokens.release("t1", NOW + 6));
    EXPECT_TRUE(tokens.find("t1").value()->used_at);
    ASSERT_TRUE(tokens.release("t1", NOW + 5));
    EXPECT_FALSE(tokens.find("t1").value()->used_at);
    EXPECT_FALSE(tokens.consume("t1", NOW + 900).value());
    EXPECT_TRUE(tokens.consume("t1", NOW + 7).value());
}

TEST_P(UploadTokenRepositoryTest, ConcurrentConsumersHaveExactlyOneWinner) {
    UploadTokenRepository(*db_).insert(make_token("t1")).value();
    std::atomic<int> wins{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            auto consumed = UploadTokenRepository(*db_).consume("t1", NOW + 1);
            if (!consumed) {
                ++failures;
            } else if (*consumed) {
                ++wins;
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(wins.load(), 1);
}

TEST_P(UploadTokenRepositoryTest, RemoveExpiredKeepsLiveTokens) {
    UploadTokenRepository tokens(*db_);
    auto old = make_token("old");
    old.expires_at = NOW - 10;
    ASSERT_TRUE(tokens.insert(old));
    ASSERT_TRUE(tokens.insert(make_token("live")));
    EXPECT_EQ(tokens.remove_expired(NOW).value(), 1);
    EXPECT_FALSE(tokens.find("old").value());
    EXPECT_TRUE(tokens.find("live").value());
}

TEST_P(UploadTokenRepositoryTest, AnUploadIsFoundByItsIdForItsCustomerOnly) {
    ASSERT_TRUE(CustomerRepository(*db_).insert(make_customer("c2")));
    UploadTokenRepository tokens(*db_);
    auto token = make_token("t1");
    token.upload_id = "up_1";
    ASSERT_TRUE(tokens.insert(token));
    ASSERT_TRUE(tokens.insert(make_token("t2"))); // issued before upload ids: none
    const auto found = tokens.find_upload("c1", "up_1").value();
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, "t1");
    EXPECT_EQ(found->upload_id, "up_1");
    EXPECT_FALSE(found->completion);
    EXPECT_FALSE(tokens.find_upload("c2", "up_1").value());
    EXPECT_FALSE(tokens.find_upload("c1", "up_2").value());
    EXPECT_EQ(tokens.find("t2").value()->upload_id, "");

    ASSERT_TRUE(tokens.set_completion("t1", R"({"path":"photos/a.jpg"})"));
    EXPECT_EQ(tokens.find_upload("c1", "up_1").value()->completion, R"({"path":"photos/a.jpg"})");
    auto twin = make_token("t3");
    twin.upload_id = "up_1";
    EXPECT_EQ(tokens.insert(twin).error().code, core::Errc::Conflict);
}

TEST_P(UploadTokenRepositoryTest, ACompletionMayConsumeWithinItsGraceAfterExpiry) {
    UploadTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1")));
    EXPECT_FALSE(tokens.consume("t1", NOW + 900).value());
    EXPECT_FALSE(tokens.consume_within("t1", NOW + 1800, 900).value());
    EXPECT_TRUE(tokens.consume_within("t1", NOW + 1799, 900).value());
    EXPECT_FALSE(tokens.consume_within("t1", NOW + 1000, 900).value()) << "used up";
}

TEST_P(UploadTokenRepositoryTest, ExpiredUploadsAreListedAndRemovedOneByOne) {
    UploadTokenRepository tokens(*db_);
    for (const auto* id : {"done", "left", "live", "no-upload-id"}) {
        auto token = make_token(id);
        token.upload_id = std::string(id) == "no-upload-id" ? "" : std::string("up_") + id;
        token.expires_at = std::string(id) == "live" ? NOW + 900 : NOW - 10;
        ASSERT_TRUE(tokens.insert(token));
    }
    ASSERT_TRUE(tokens.set_completion("done", "{}"));
    std::vector<std::string> ids;
    for (const auto& token : tokens.expired_uploads(NOW, 10).value()) {
        ids.push_back(token.upload_id);
    }
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::string>{"up_done", "up_left"}));
    EXPECT_EQ(tokens.expired_uploads(NOW, 1).value().size(), 1U);
    ASSERT_TRUE(tokens.remove("left"));
    EXPECT_FALSE(tokens.find("left").value());
    EXPECT_EQ(tokens.expired_uploads(NOW, 10).value().size(), 1U);
}

} // namespace
} // namespace cdn::db
