#include "db/customer_repository.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::make_customer;
using testing::MigratedTest;

class CustomerRepositoryTest : public MigratedTest {
protected:
    CustomerRecord insert(const std::string& id) {
        auto customer = make_customer(id);
        auto inserted = CustomerRepository(*db_).insert(customer);
        EXPECT_TRUE(inserted) << inserted.error().detail;
        return customer;
    }
};

CDN_ON_EVERY_ENGINE(CustomerRepositoryTest);

void expect_same(const CustomerRecord& a, const CustomerRecord& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.public_key, b.public_key);
    EXPECT_EQ(a.email, b.email);
    EXPECT_EQ(a.plan, b.plan);
    EXPECT_EQ(a.settings_json, b.settings_json);
    EXPECT_EQ(a.signing_secret, b.signing_secret);
    EXPECT_EQ(a.suspended, b.suspended);
    EXPECT_EQ(a.billing_status, b.billing_status);
    EXPECT_EQ(a.stripe_customer_id, b.stripe_customer_id);
    EXPECT_EQ(a.created_at, b.created_at);
    EXPECT_EQ(a.updated_at, b.updated_at);
    EXPECT_EQ(a.password_hash, b.password_hash);
}

TEST_P(CustomerRepositoryTest, InsertedCustomerIsFoundByEveryKey) {
    auto customer = make_customer("c1");
    customer.settings_json = R"({"default_quality":80})";
    customer.suspended = true;
    customer.billing_status = "past_due";
    customer.stripe_customer_id = "cus_123";
    customer.password_hash = "$argon2id$v=19$...";
    CustomerRepository customers(*db_);
    ASSERT_TRUE(customers.insert(customer));

    for (auto found : {customers.find_by_id("c1"), customers.find_by_public_key("pk_c1"),
                       customers.find_by_email("c1@example.com")}) {
        ASSERT_TRUE(found) << found.error().detail;
        ASSERT_TRUE(found->has_value());
        expect_same(**found, customer);
    }
}

TEST_P(CustomerRepositoryTest, UnknownKeysFindNothing) {
    insert("c1");
    CustomerRepository customers(*db_);
    EXPECT_FALSE(customers.find_by_id("nope").value().has_value());
    EXPECT_FALSE(customers.find_by_public_key("pk_nope").value().has_value());
    EXPECT_FALSE(customers.find_by_email("nope@example.com").value().has_value());
    EXPECT_FALSE(customers.find_by_custom_domain("img.nope.com").value().has_value());
}

TEST_P(CustomerRepositoryTest, OptionalColumnsComeBackAbsent) {
    const auto customer = insert("c1");
    auto found = CustomerRepository(*db_).find_by_id("c1").value();
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->stripe_customer_id, std::nullopt);
    EXPECT_EQ(found->password_hash, std::nullopt);
    expect_same(*found, customer);
}

TEST_P(CustomerRepositoryTest, DuplicatePublicKeyIsConflict) {
    insert("c1");
    auto twin = make_customer("c2");
    twin.public_key = "pk_c1";
    auto inserted = CustomerRepository(*db_).insert(twin);
    ASSERT_FALSE(inserted);
    EXPECT_EQ(inserted.error().code, core::Errc::Conflict);
    EXPECT_NE(inserted.error().detail.find("customers.public_key"), std::string::npos);
}

TEST_P(CustomerRepositoryTest, UpdatesChangeTheRowAndItsTimestamp) {
    insert("c1");
    CustomerRepository customers(*db_);
    ASSERT_TRUE(customers.update_plan("c1", "pro", 1'700'000'100));
    ASSERT_TRUE(customers.update_settings("c1", R"({"presets_only":true})", 1'700'000'200));
    auto found = customers.find_by_id("c1").value();
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->plan, "pro");
    EXPECT_EQ(found->settings_json, R"({"presets_only":true})");
    EXPECT_EQ(found->updated_at, 1'700'000'200);
    EXPECT_EQ(found->created_at, 1'700'000'000);
}

TEST_P(CustomerRepositoryTest, UpdatingAnUnknownCustomerIsNotFound) {
    CustomerRepository customers(*db_);
    auto plan = customers.update_plan("ghost", "pro", 1);
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().code, core::Errc::NotFound);
    auto settings = customers.update_settings("ghost", "{}", 1);
    ASSERT_FALSE(settings);
    EXPECT_EQ(settings.error().code, core::Errc::NotFound);
}

TEST_P(CustomerRepositoryTest, UpdateSigningSecretChangesOnlyTheSecretAndTimestamp) {
    const auto customer = insert("c1");
    CustomerRepository customers(*db_);
    ASSERT_TRUE(customers.update_signing_secret("c1", "rotated-secret", 1'700'000'300));
    auto found = customers.find_by_id("c1").value();
    ASSERT_TRUE(found.has_value());
    auto expected = customer;
    expected.signing_secret = "rotated-secret";
    expected.updated_at = 1'700'000'300;
    expect_same(*found, expected);
}

TEST_P(CustomerRepositoryTest, SetSuspendedTogglesTheFlag) {
    const auto customer = insert("c1");
    CustomerRepository customers(*db_);
    ASSERT_TRUE(customers.set_suspended("c1", true, 1'700'000'400));
    auto suspended = customers.find_by_id("c1").value();
    ASSERT_TRUE(suspended.has_value());
    auto expected = customer;
    expected.suspended = true;
    expected.updated_at = 1'700'000'400;
    expect_same(*suspended, expected);

    ASSERT_TRUE(customers.set_suspended("c1", false, 1'700'000'500));
    auto resumed = customers.find_by_id("c1").value();
    ASSERT_TRUE(resumed.has_value());
    EXPECT_FALSE(resumed->suspended);
    EXPECT_EQ(resumed->updated_at, 1'700'000'500);
}

TEST_P(CustomerRepositoryTest, SecretAndSuspensionOfAnUnknownCustomerAreNotFound) {
    insert("c1");
    CustomerRepository customers(*db_);
    auto secret = customers.update_signing_secret("ghost", "s", 1);
    ASSERT_FALSE(secret);
    EXPECT_EQ(secret.error().code, core::Errc::NotFound);
    auto suspend = customers.set_suspended("ghost", true, 1);
    ASSERT_FALSE(suspend);
    EXPECT_EQ(suspend.error().code, core::Errc::NotFound);
    // Setting the value a row already has still finds it.
    EXPECT_TRUE(customers.set_suspended("c1", false, 1));
}

TEST_P(CustomerRepositoryTest, ListsCustomDomainsSortedAndPerCustomer) {
    insert("c1");
    insert("c2");
    CustomerRepository customers(*db_);
    EXPECT_EQ(customers.list_custom_domains("c1").value(), std::vector<std::string>{});
    ASSERT_TRUE(customers.replace_custom_domains("c1", {"img.b.com", "img-z.a.com", "img.a.com"}));
    ASSERT_TRUE(customers.replace_custom_domains("c2", {"cdn.c2.com"}));
    EXPECT_EQ(customers.list_custom_domains("c1").value(),
              (std::vector<std::string>{"img-z.a.com", "img.a.com", "img.b.com"}));
    EXPECT_EQ(customers.list_custom_domains("c2").value(),
              std::vector<std::string>{"cdn.c2.com"});
    EXPECT_EQ(customers.list_custom_domains("ghost").value(), std::vector<std::string>{});

    ASSERT_TRUE(customers.replace_custom_domains("c1", {}));
    EXPECT_EQ(customers.list_custom_domains("c1").value(), std::vector<std::string>{});
}

TEST_P(CustomerRepositoryTest, DeletingTheCustomerDeletesItsDomains) {
    insert("c1");
    CustomerRepository customers(*db_);
    ASSERT_TRUE(customers.replace_custom_domains("c1", {"img.a.com"}));
    ASSERT_TRUE(db_->execute("DELETE FROM customers WHERE id = $1", {std::string("c1")}));
    EXPECT_EQ(customers.list_custom_domains("c1").value(), std::vector<std::string>{});
    EXPECT_FALSE(customers.find_by_custom_domain("img.a.com").value().has_value());
}

TEST_P(CustomerRepositoryTest, CustomDomainsResolveToTheirCustomer) {
    insert("c1");
    CustomerRepository customers(*db_);
    ASSERT_TRUE(customers.replace_custom_domains("c1", {"img.a.com", "img.b.com"}));
    auto found = customers.find_by_custom_domain("img.b.com").value();
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, "c1");

    ASSERT_TRUE(customers.replace_custom_domains("c1", {"img.c.com"}));
    EXPECT_FALSE(customers.find_by_custom_domain("img.a.com").value().has_value());
    EXPECT_TRUE(customers.find_by_custom_domain("img.c.com").value().has_value());
}

TEST_P(CustomerRepositoryTest, AnotherCustomersDomainIsConflictAndChangesNothing) {
    insert("c1");
    insert("c2");
    CustomerRepository customers(*db_);
    ASSERT_TRUE(customers.replace_custom_domains("c1", {"img.a.com"}));
    ASSERT_TRUE(customers.replace_custom_domains("c2", {"img.b.com"}));

    auto taken = customers.replace_custom_domains("c2", {"img.c.com", "img.a.com"});
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().code, core::Errc::Conflict);
    EXPECT_EQ(customers.find_by_custom_domain("img.a.com").value()->id, "c1");
    EXPECT_EQ(customers.find_by_custom_domain("img.b.com").value()->id, "c2");
    EXPECT_FALSE(customers.find_by_custom_domain("img.c.com").value().has_value());
}

TEST_P(CustomerRepositoryTest, CountsCustomers) {
    CustomerRepository customers(*db_);
    EXPECT_EQ(customers.count().value(), 0);
    insert("c1");
    insert("c2");
    EXPECT_EQ(customers.count().value(), 2);
}

TEST_P(CustomerRepositoryTest, WorksOnATransactionHandle) {
    auto tx = db_->transaction([](Database& tx) -> core::Result<void> {
        CustomerRepository customers(tx);
        CDN_TRY_VOID(customers.insert(make_customer("c1")));
        CDN_TRY_VOID(customers.replace_custom_domains("c1", {"img.a.com"}));
        CDN_TRY(found, customers.find_by_custom_domain("img.a.com"));
        EXPECT_TRUE(found.has_value());
        return {};
    });
    ASSERT_TRUE(tx) << tx.error().detail;
    EXPECT_TRUE(CustomerRepository(*db_).find_by_custom_domain("img.a.com").value().has_value());
}

} // namespace
} // namespace cdn::db
