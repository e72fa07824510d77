#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "db/customer_repository.h"
#include "db/database.h"
#include "db/migrations.h"
#include "db/sqlite_database.h"
#include "fake_clock.h"

namespace cdn::db::testing {

/** A fresh directory under $TMPDIR (or /tmp), removed with everything in it. */
class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/cdn-db-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }

    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

inline DatabasePtr open_or_fail(const std::string& path) {
    auto opened = SqliteDatabase::open(path);
    if (!opened) {
        ADD_FAILURE() << "open " << path << ": " << opened.error().detail;
        return nullptr;
    }
    return std::move(*opened);
}

/** A SQLite database in its own temp dir, not yet migrated. */
class SqliteTest : public ::testing::Test {
protected:
    void SetUp() override {
        db_ = open_or_fail(dir_.file("test.db"));
        ASSERT_NE(db_, nullptr);
    }

    TempDir dir_; // declared first: the database closes before its directory goes
    DatabasePtr db_;
};

/** A SQLite database with the full schema. */
class MigratedTest : public SqliteTest {
protected:
    void SetUp() override {
        SqliteTest::SetUp();
        auto version = migrate(*db_, test::FakeClock(1'700'000'000));
        ASSERT_TRUE(version) << version.error().detail;
    }
};

inline CustomerRecord make_customer(const std::string& id) {
    CustomerRecord customer;
    customer.id = id;
    customer.public_key = "pk_" + id;
    customer.email = id + "@example.com";
    customer.plan = "free";
    customer.signing_secret = "secret-" + id;
    customer.created_at = 1'700'000'000;
    customer.updated_at = 1'700'000'000;
    return customer;
}

} // namespace cdn::db::testing
