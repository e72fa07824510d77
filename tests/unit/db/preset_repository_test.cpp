#include "db/preset_repository.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using testing::make_customer;
using testing::MigratedTest;

class PresetRepositoryTest : public MigratedTest {
protected:
    void SetUp() override {
        MigratedTest::SetUp();
        CustomerRepository customers(*db_);
        ASSERT_TRUE(customers.insert(make_customer("c1")));
        ASSERT_TRUE(customers.insert(make_customer("c2")));
    }
};

CDN_ON_EVERY_ENGINE(PresetRepositoryTest);

PresetRecord make_preset(const std::string& name, const std::string& options,
                         std::int64_t updated_at) {
    PresetRecord preset;
    preset.name = name;
    preset.options = options;
    preset.updated_at = updated_at;
    return preset;
}

std::vector<std::string> names(const std::vector<PresetRecord>& presets) {
    std::vector<std::string> out;
    for (const auto& preset : presets) {
        out.push_back(preset.name);
    }
    return out;
}

TEST_P(PresetRepositoryTest, PutPresetIsFoundWithEveryField) {
    PresetRepository presets(*db_);
    ASSERT_TRUE(presets.put("c1", make_preset("thumb", "w=200,h=200,fit=cover", 100)));
    auto found = presets.find("c1", "thumb");
    ASSERT_TRUE(found) << found.error().detail;
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->name, "thumb");
    EXPECT_EQ((*found)->options, "w=200,h=200,fit=cover");
    EXPECT_EQ((*found)->updated_at, 100);
}

TEST_P(PresetRepositoryTest, UnknownPresetOrCustomerFindsNothing) {
    PresetRepository presets(*db_);
    ASSERT_TRUE(presets.put("c1", make_preset("thumb", "w=200", 100)));
    EXPECT_FALSE(presets.find("c1", "hero").value().has_value());
    EXPECT_FALSE(presets.find("ghost", "thumb").value().has_value());
    EXPECT_TRUE(presets.list("ghost").value().empty());
    EXPECT_TRUE(presets.list("c2").value().empty());
}

TEST_P(PresetRepositoryTest, ListsByName) {
    PresetRepository presets(*db_);
    ASSERT_TRUE(presets.put("c1", make_preset("thumb", "w=200", 100)));
    ASSERT_TRUE(presets.put("c1", make_preset("hero", "w=1600", 200)));
    ASSERT_TRUE(presets.put("c1", make_preset("avatar", "w=64", 300)));
    ASSERT_TRUE(presets.put("c1", make_preset("hero-small", "w=800", 400)));
    ASSERT_TRUE(presets.put("c1", make_preset("hero.x", "w=900", 500)));
    auto listed = presets.list("c1");
    ASSERT_TRUE(listed) << listed.error().detail;
    EXPECT_EQ(names(*listed), (std::vector<std::string>{"avatar", "hero", "hero-small", "hero.x",
                                                        "thumb"}));
    EXPECT_EQ((*listed)[0].options, "w=64");
    EXPECT_EQ((*listed)[0].updated_at, 300);
}

TEST_P(PresetRepositoryTest, PutReplacesAnExistingPreset) {
    PresetRepository presets(*db_);
    ASSERT_TRUE(presets.put("c1", make_preset("thumb", "w=200", 100)));
    ASSERT_TRUE(presets.put("c1", make_preset("thumb", "w=300,q=70", 250)));
    auto listed = presets.list("c1").value();
    ASSERT_EQ(listed.size(), 1U);
    EXPECT_EQ(listed[0].name, "thumb");
    EXPECT_EQ(listed[0].options, "w=300,q=70");
    EXPECT_EQ(listed[0].updated_at, 250);
}

TEST_P(PresetRepositoryTest, RemoveReportsWhetherThePresetExisted) {
    PresetRepository presets(*db_);
    ASSERT_TRUE(presets.put("c1", make_preset("thumb", "w=200", 100)));
    ASSERT_TRUE(presets.put("c1", make_preset("hero", "w=1600", 100)));
    EXPECT_TRUE(presets.remove("c1", "thumb").value());
    EXPECT_FALSE(presets.remove("c1", "thumb").value());
    EXPECT_FALSE(presets.remove("c1", "never").value());
    EXPECT_FALSE(presets.find("c1", "thumb").value().has_value());
    EXPECT_EQ(names(presets.list("c1").value()), std::vector<std::string>{"hero"});
}

TEST_P(PresetRepositoryTest, AnotherCustomersPresetsAreInvisible) {
    PresetRepository presets(*db_);
    ASSERT_TRUE(presets.put("c1", make_preset("thumb", "w=200", 100)));
    ASSERT_TRUE(presets.put("c2", make_preset("thumb", "w=999", 200)));
    ASSERT_TRUE(presets.put("c2", make_preset("banner", "w=1200", 200)));

    EXPECT_EQ(names(presets.list("c1").value()), std::vector<std::string>{"thumb"});
    EXPECT_EQ(presets.find("c1", "thumb").value()->options, "w=200");
    EXPECT_FALSE(presets.find("c1", "banner").value().has_value());
    EXPECT_FALSE(presets.remove("c1", "banner").value());

    // Removing c1's preset leaves c2's of the same name alone.
    EXPECT_TRUE(presets.remove("c1", "thumb").value());
    EXPECT_EQ(presets.find("c2", "thumb").value()->options, "w=999");
    EXPECT_EQ(names(presets.list("c2").value()), (std::vector<std::string>{"banner", "thumb"}));
}

TEST_P(PresetRepositoryTest, PutForAnUnknownCustomerFails) {
    PresetRepository presets(*db_);
    auto put = presets.put("ghost", make_preset("thumb", "w=200", 100));
    EXPECT_FALSE(put);
    EXPECT_TRUE(presets.list("ghost").value().empty());
}

TEST_P(PresetRepositoryTest, DeletingTheCustomerDeletesItsPresets) {
    PresetRepository presets(*db_);
    ASSERT_TRUE(presets.put("c1", make_preset("thumb", "w=200", 100)));
    ASSERT_TRUE(presets.put("c2", make_preset("thumb", "w=999", 100)));
    ASSERT_TRUE(db_->execute("DELETE FROM customers WHERE id = $1", {std::string("c1")}));
    EXPECT_TRUE(presets.list("c1").value().empty());
    EXPECT_FALSE(presets.find("c1", "thumb").value().has_value());
    EXPECT_EQ(names(presets.list("c2").value()), std::vector<std::string>{"thumb"});
}

TEST_P(PresetRepositoryTest, WorksOnATransactionHandle) {
    auto tx = db_->transaction([](Database& tx) -> core::Result<void> {
        PresetRepository presets(tx);
        CDN_TRY_VOID(presets.put("c1", make_preset("thumb", "w=200", 100)));
        CDN_TRY(found, presets.find("c1", "thumb"));
        EXPECT_TRUE(found.has_value());
        return {};
    });
    ASSERT_TRUE(tx) << tx.error().detail;
    EXPECT_TRUE(PresetRepository(*db_).find("c1", "thumb").value().has_value());
}

TEST_P(PresetRepositoryTest, RolledBackPutLeavesNoPreset) {
    auto tx = db_->transaction([](Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(PresetRepository(tx).put("c1", make_preset("thumb", "w=200", 100)));
        return core::make_error(core::Errc::Internal, "abort", "test rollback");
    });
    ASSERT_FALSE(tx);
    EXPECT_FALSE(PresetRepository(*db_).find("c1", "thumb").value().has_value());
}

} // namespace
} // namespace cdn::db
