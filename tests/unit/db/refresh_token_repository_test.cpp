#include "db/refresh_token_repository.h"

#include <gtest/gtest.h>

#include <string>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::make_customer;
using testing::MigratedTest;

RefreshTokenRecord make_token(const std::string& id, const std::string& family,
                              const std::string& customer_id, std::int64_t expires_at = 2000) {
    return RefreshTokenRecord{.id = id,
                              .family_id = family,
                              .customer_id = customer_id,
                              .token_hash = "hash-" + id,
                              .created_at = 100,
                              .expires_at = expires_at,
                              .used_at = std::nullopt,
                              .revoked_at = std::nullopt};
}

class RefreshTokenRepositoryTest : public MigratedTest {
protected:
    void SetUp() override {
        MigratedTest::SetUp();
        CustomerRepository customers(*db_);
        ASSERT_TRUE(customers.insert(make_customer("c1")));
        ASSERT_TRUE(customers.insert(make_customer("c2")));
    }

    std::optional<RefreshTokenRecord> find(const std::string& id) {
        return RefreshTokenRepository(*db_).find_by_hash("hash-" + id).value();
    }
};

CDN_ON_EVERY_ENGINE(RefreshTokenRepositoryTest);

TEST_P(RefreshTokenRepositoryTest, InsertedTokenIsFoundByHash) {
    RefreshTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1", "f1", "c1")));
    auto found = find("t1");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, "t1");
    EXPECT_EQ(found->family_id, "f1");
    EXPECT_EQ(found->customer_id, "c1");
    EXPECT_EQ(found->token_hash, "hash-t1");
    EXPECT_EQ(found->created_at, 100);
    EXPECT_EQ(found->expires_at, 2000);
    EXPECT_EQ(found->used_at, std::nullopt);
    EXPECT_EQ(found->revoked_at, std::nullopt);
    EXPECT_FALSE(tokens.find_by_hash("hash-none").value().has_value());
}

TEST_P(RefreshTokenRepositoryTest, DuplicateHashIsConflict) {
    RefreshTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1", "f1", "c1")));
    auto twin = make_token("t2", "f1", "c1");
    twin.token_hash = "hash-t1";
    auto inserted = tokens.insert(twin);
    ASSERT_FALSE(inserted);
    EXPECT_EQ(inserted.error().code, core::Errc::Conflict);
}

TEST_P(RefreshTokenRepositoryTest, TokenOfUnknownCustomerIsRefused) {
    auto inserted = RefreshTokenRepository(*db_).insert(make_token("t1", "f1", "ghost"));
    EXPECT_FALSE(inserted);
}

TEST_P(RefreshTokenRepositoryTest, MarkUsedWinsOnce) {
    RefreshTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1", "f1", "c1")));
    EXPECT_TRUE(tokens.mark_used("t1", 500).value());
    EXPECT_FALSE(tokens.mark_used("t1", 600).value());
    EXPECT_EQ(find("t1")->used_at, 500);
    EXPECT_FALSE(tokens.mark_used("unknown", 600).value());
}

TEST_P(RefreshTokenRepositoryTest, RevokedTokenCannotBeMarkedUsed) {
    RefreshTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1", "f1", "c1")));
    EXPECT_EQ(tokens.revoke_family("f1", 300).value(), 1);
    EXPECT_FALSE(tokens.mark_used("t1", 500).value());
    EXPECT_EQ(find("t1")->used_at, std::nullopt);
}

TEST_P(RefreshTokenRepositoryTest, RevokeFamilyTouchesOnlyThatFamilyAndKeepsTheFirstTime) {
    RefreshTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("a1", "fa", "c1")));
    ASSERT_TRUE(tokens.insert(make_token("a2", "fa", "c1")));
    ASSERT_TRUE(tokens.insert(make_token("b1", "fb", "c1")));
    ASSERT_TRUE(tokens.mark_used("a1", 200).value());
    EXPECT_EQ(tokens.revoke_family("fa", 300).value(), 2);
    EXPECT_EQ(find("a1")->revoked_at, 300);
    EXPECT_EQ(find("a1")->used_at, 200);
    EXPECT_EQ(find("a2")->revoked_at, 300);
    EXPECT_EQ(find("b1")->revoked_at, std::nullopt);
    // Revoking again changes nothing (the first revocation time stays).
    EXPECT_EQ(tokens.revoke_family("fa", 400).value(), 0);
    EXPECT_EQ(find("a2")->revoked_at, 300);
}

TEST_P(RefreshTokenRepositoryTest, RevokeCustomerTouchesOnlyThatCustomer) {
    RefreshTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("a1", "fa", "c1")));
    ASSERT_TRUE(tokens.insert(make_token("b1", "fb", "c1")));
    ASSERT_TRUE(tokens.insert(make_token("c1", "fc", "c2")));
    EXPECT_EQ(tokens.revoke_customer("c1", 300).value(), 2);
    EXPECT_EQ(find("a1")->revoked_at, 300);
    EXPECT_EQ(find("b1")->revoked_at, 300);
    EXPECT_EQ(find("c1")->revoked_at, std::nullopt);
}

TEST_P(RefreshTokenRepositoryTest, DeleteExpiredKeepsLiveTokens) {
    RefreshTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("old", "f1", "c1", 1000)));
    ASSERT_TRUE(tokens.insert(make_token("edge", "f1", "c1", 1500)));
    ASSERT_TRUE(tokens.insert(make_token("live", "f2", "c1", 3000)));
    EXPECT_EQ(tokens.delete_expired(1500).value(), 1);
    EXPECT_FALSE(find("old").has_value());
    EXPECT_TRUE(find("edge").has_value());
    EXPECT_TRUE(find("live").has_value());
}

TEST_P(RefreshTokenRepositoryTest, WorksInsideATransactionAndRollsBack) {
    auto failed = db_->transaction([](Database& tx) -> core::Result<void> {
        RefreshTokenRepository tokens(tx);
        CDN_TRY_VOID(tokens.insert(make_token("t1", "f1", "c1")));
        return core::make_error(core::Errc::Internal, "abort");
    });
    EXPECT_FALSE(failed);
    EXPECT_FALSE(find("t1").has_value());
}

TEST_P(RefreshTokenRepositoryTest, DeletingTheCustomerDeletesItsTokens) {
    RefreshTokenRepository tokens(*db_);
    ASSERT_TRUE(tokens.insert(make_token("t1", "f1", "c1")));
    ASSERT_TRUE(db_->execute("DELETE FROM customers WHERE id = $1", {std::string("c1")}));
    EXPECT_FALSE(find("t1").has_value());
}

} // namespace
} // namespace cdn::db
