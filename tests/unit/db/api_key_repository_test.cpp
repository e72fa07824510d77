#include "db/api_key_repository.h"

#include <gtest/gtest.h>

#include <string>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::make_customer;
using testing::MigratedTest;

ApiKeyRecord make_key(const std::string& id, const std::string& customer_id,
                      std::int64_t created_at) {
    return ApiKeyRecord{id, customer_id, "key " + id, "sk_" + id, "hash-" + id, created_at, {}};
}

class ApiKeyRepositoryTest : public MigratedTest {
protected:
    void SetUp() override {
        MigratedTest::SetUp();
        CustomerRepository customers(*db_);
        ASSERT_TRUE(customers.insert(make_customer("c1")));
        ASSERT_TRUE(customers.insert(make_customer("c2")));
    }
};

CDN_ON_EVERY_ENGINE(ApiKeyRepositoryTest);

TEST_P(ApiKeyRepositoryTest, InsertedKeyIsFoundByPrefix) {
    ApiKeyRepository keys(*db_);
    ASSERT_TRUE(keys.insert(make_key("k1", "c1", 100)));
    auto found = keys.find_by_prefix("sk_k1").value();
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, "k1");
    EXPECT_EQ(found->customer_id, "c1");
    EXPECT_EQ(found->name, "key k1");
    EXPECT_EQ(found->secret_hash, "hash-k1");
    EXPECT_EQ(found->created_at, 100);
    EXPECT_EQ(found->last_used_at, std::nullopt);
    EXPECT_FALSE(keys.find_by_prefix("sk_other").value().has_value());
}

TEST_P(ApiKeyRepositoryTest, DuplicatePrefixIsConflict) {
    ApiKeyRepository keys(*db_);
    ASSERT_TRUE(keys.insert(make_key("k1", "c1", 100)));
    auto twin = make_key("k2", "c1", 100);
    twin.prefix = "sk_k1";
    auto inserted = keys.insert(twin);
    ASSERT_FALSE(inserted);
    EXPECT_EQ(inserted.error().code, core::Errc::Conflict);
}

TEST_P(ApiKeyRepositoryTest, KeyOfUnknownCustomerIsRefused) {
    auto inserted = ApiKeyRepository(*db_).insert(make_key("k1", "ghost", 100));
    ASSERT_FALSE(inserted);
    EXPECT_NE(inserted.error().code, core::Errc::Conflict);
}

TEST_P(ApiKeyRepositoryTest, ListsOnlyTheCustomersKeysOldestFirst) {
    ApiKeyRepository keys(*db_);
    ASSERT_TRUE(keys.insert(make_key("k-new", "c1", 300)));
    ASSERT_TRUE(keys.insert(make_key("k-old", "c1", 100)));
    ASSERT_TRUE(keys.insert(make_key("k-other", "c2", 200)));
    auto listed = keys.list_for_customer("c1").value();
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].id, "k-old");
    EXPECT_EQ(listed[1].id, "k-new");
    EXPECT_TRUE(keys.list_for_customer("nobody").value().empty());
}

TEST_P(ApiKeyRepositoryTest, RemoveOnlyByTheOwner) {
    ApiKeyRepository keys(*db_);
    ASSERT_TRUE(keys.insert(make_key("k1", "c1", 100)));
    auto by_other = keys.remove("c2", "k1");
    ASSERT_FALSE(by_other);
    EXPECT_EQ(by_other.error().code, core::Errc::NotFound);
    EXPECT_TRUE(keys.find_by_prefix("sk_k1").value().has_value());

    ASSERT_TRUE(keys.remove("c1", "k1"));
    EXPECT_FALSE(keys.find_by_prefix("sk_k1").value().has_value());
    EXPECT_EQ(keys.remove("c1", "k1").error().code, core::Errc::NotFound);
}

TEST_P(ApiKeyRepositoryTest, TouchLastUsedKeepsTheLatestAndSkipsUnknownKeys) {
    ApiKeyRepository keys(*db_);
    ASSERT_TRUE(keys.insert(make_key("k1", "c1", 100)));
    ASSERT_TRUE(keys.insert(make_key("k2", "c1", 100)));
    ASSERT_TRUE(keys.touch_last_used({{"k1", 500}, {"k2", 400}, {"deleted", 600}}));
    ASSERT_TRUE(keys.touch_last_used({{"k1", 450}, {"k2", 700}})); // k1's is older: ignored
    EXPECT_EQ(keys.find_by_prefix("sk_k1").value()->last_used_at, 500);
    EXPECT_EQ(keys.find_by_prefix("sk_k2").value()->last_used_at, 700);
    EXPECT_TRUE(keys.touch_last_used({}));
}

TEST_P(ApiKeyRepositoryTest, FindByIdOnlyForTheOwner) {
    ApiKeyRepository keys(*db_);
    ASSERT_TRUE(keys.insert(make_key("k1", "c1", 100)));
    auto found = keys.find_by_id("c1", "k1").value();
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->prefix, "sk_k1");
    EXPECT_FALSE(keys.find_by_id("c2", "k1").value().has_value());
    EXPECT_FALSE(keys.find_by_id("c1", "k2").value().has_value());
}

TEST_P(ApiKeyRepositoryTest, CountsTheCustomersKeys) {
    ApiKeyRepository keys(*db_);
    EXPECT_EQ(keys.count_for_customer("c1").value(), 0);
    ASSERT_TRUE(keys.insert(make_key("k1", "c1", 100)));
    ASSERT_TRUE(keys.insert(make_key("k2", "c1", 100)));
    ASSERT_TRUE(keys.insert(make_key("k3", "c2", 100)));
    EXPECT_EQ(keys.count_for_customer("c1").value(), 2);
    EXPECT_EQ(keys.count_for_customer("nobody").value(), 0);
}

TEST_P(ApiKeyRepositoryTest, ReplaceSecretRotatesInPlaceForTheOwnerOnly) {
    ApiKeyRepository keys(*db_);
    ASSERT_TRUE(keys.insert(make_key("k1", "c1", 100)));
    ASSERT_TRUE(keys.touch_last_used({{"k1", 500}}));

    auto by_other = keys.replace_secret("c2", "k1", "sk_new", "hash-new");
    ASSERT_FALSE(by_other);
    EXPECT_EQ(by_other.error().code, core::Errc::NotFound);
    EXPECT_EQ(keys.replace_secret("c1", "ghost", "sk_new", "hash-new").error().code,
              core::Errc::NotFound);
    EXPECT_TRUE(keys.find_by_prefix("sk_k1").value().has_value());

    ASSERT_TRUE(keys.replace_secret("c1", "k1", "sk_new", "hash-new"));
    EXPECT_FALSE(keys.find_by_prefix("sk_k1").value().has_value());
    auto rotated = keys.find_by_prefix("sk_new").value();
    ASSERT_TRUE(rotated.has_value());
    EXPECT_EQ(rotated->id, "k1");
    EXPECT_EQ(rotated->name, "key k1");
    EXPECT_EQ(rotated->secret_hash, "hash-new");
    EXPECT_EQ(rotated->created_at, 100);
    EXPECT_EQ(rotated->last_used_at, std::nullopt);

    // A prefix of another key is refused, and the key keeps its secret.
    ASSERT_TRUE(keys.insert(make_key("k2", "c1", 100)));
    auto taken = keys.replace_secret("c1", "k1", "sk_k2", "hash-x");
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().code, core::Errc::Conflict);
    EXPECT_EQ(keys.find_by_id("c1", "k1").value()->secret_hash, "hash-new");
}

TEST_P(ApiKeyRepositoryTest, DeletingTheCustomerDeletesItsKeys) {
    ApiKeyRepository keys(*db_);
    ASSERT_TRUE(keys.insert(make_key("k1", "c1", 100)));
    ASSERT_TRUE(db_->execute("DELETE FROM customers WHERE id = $1", {std::string("c1")}));
    EXPECT_FALSE(keys.find_by_prefix("sk_k1").value().has_value());
}

} // namespace
} // namespace cdn::db
