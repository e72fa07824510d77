#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "db/customer_repository.h"
#include "db/database.h"
#include "db/migrations.h"
#include "db/postgres_database.h"
#include "db/sqlite_database.h"
#include "fake_clock.h"
#include "postgres_process.h"

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

/** The options of a fresh, empty database on the test binary's PostgreSQL server. */
inline PostgresOptions fresh_postgres(std::size_t pool_size = 4) {
    auto& server = test::PostgresProcess::shared();
    PostgresOptions options;
    options.url = server.url(server.create_database());
    options.pool_size = pool_size;
    return options;
}

inline DatabasePtr open_postgres_or_fail(const PostgresOptions& options) {
    auto opened = PostgresDatabase::open(options);
    if (!opened) {
        ADD_FAILURE() << "open " << options.url << ": " << opened.error().detail;
        return nullptr;
    }
    return std::move(*opened);
}

enum class Engine { Sqlite, Postgres };

inline std::string engine_name(const ::testing::TestParamInfo<Engine>& info) {
    return info.param == Engine::Sqlite ? "sqlite" : "postgres";
}

/** How GoogleTest (and so CTest's test names) prints the parameter. */
inline void PrintTo(Engine engine, std::ostream* out) {
    *out << (engine == Engine::Sqlite ? "sqlite" : "postgres");
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

/** A fresh PostgreSQL database of its own, not yet migrated. */
class PostgresTest : public ::testing::Test {
protected:
    void SetUp() override {
        options_ = fresh_postgres();
        db_ = open_postgres_or_fail(options_);
        ASSERT_NE(db_, nullptr);
    }

    PostgresOptions options_;
    DatabasePtr db_;
};

/** A fresh, empty database of the engine the test is instantiated for, not yet migrated. */
class EngineTest : public ::testing::TestWithParam<Engine> {
protected:
    void SetUp() override {
        db_ = GetParam() == Engine::Sqlite ? open_or_fail(dir_.file("test.db"))
                                           : open_postgres_or_fail(fresh_postgres());
        ASSERT_NE(db_, nullptr);
    }

    TempDir dir_; // declared first: the database closes before its directory goes
    DatabasePtr db_;
};

/** Migrates `db` as of a fixed time; a failure fails the test. */
inline void migrate_or_fail(Database& db) {
    auto version = migrate(db, test::FakeClock(1'700'000'000));
    ASSERT_TRUE(version) << version.error().detail;
}

/** A database of the instantiated engine with the full schema. */
class MigratedTest : public EngineTest {
protected:
    void SetUp() override {
        EngineTest::SetUp();
        ASSERT_NO_FATAL_FAILURE(migrate_or_fail(*db_));
    }
};

/** A SQLite database with the full schema, for SQLite-only behaviour (WAL, backup). */
class SqliteMigratedTest : public SqliteTest {
protected:
    void SetUp() override {
        SqliteTest::SetUp();
        ASSERT_NO_FATAL_FAILURE(migrate_or_fail(*db_));
    }
};

/** A PostgreSQL database with the full schema, for PostgreSQL-only behaviour. */
class PostgresMigratedTest : public PostgresTest {
protected:
    void SetUp() override {
        PostgresTest::SetUp();
        ASSERT_NO_FATAL_FAILURE(migrate_or_fail(*db_));
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

/** Runs every TEST_P of `Fixture` (an EngineTest) on SQLite and on PostgreSQL. */
#define CDN_ON_EVERY_ENGINE(Fixture)                                                               \
    INSTANTIATE_TEST_SUITE_P(Engines, Fixture,                                                     \
                             ::testing::Values(::cdn::db::testing::Engine::Sqlite,                 \
                                               ::cdn::db::testing::Engine::Postgres),              \
                             ::cdn::db::testing::engine_name)
