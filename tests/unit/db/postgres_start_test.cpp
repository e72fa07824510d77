#include "db/postgres_start.h"

#include <gtest/gtest.h>

#include "db_test_support.h"

namespace cdn::db {
namespace {

using std::chrono::milliseconds;
using testing::PostgresTest;

TEST(UrlWithoutPassword, LeavesOutThePasswordAndKeepsTheRest) {
    EXPECT_EQ(url_without_password("postgres://cdn:hunter2@db.internal:5432/images"),
              "postgres://cdn@db.internal:5432/images");
    EXPECT_EQ(url_without_password("postgresql://cdn:p%40ss@h/db?sslmode=require"),
              "postgresql://cdn@h/db?sslmode=require");
    EXPECT_EQ(url_without_password("postgres://h/db?password=hunter2&sslmode=require"),
              "postgres://h/db?sslmode=require");
    EXPECT_EQ(url_without_password("postgres://h/db?password=hunter2"), "postgres://h/db");
    EXPECT_EQ(url_without_password("postgres://cdn@h:5432/db"), "postgres://cdn@h:5432/db");
    EXPECT_EQ(url_without_password("postgres://h"), "postgres://h");
}

TEST(OpenPostgresWithin, GivesUpAfterTheWindowNamingTheDatabase) {
    PostgresOptions nowhere;
    // Port 1 on loopback: nothing listens there, so every attempt is refused at once.
    nowhere.url = "postgres://cdn:hunter2@127.0.0.1:1/images";
    auto opened = open_postgres_within(nowhere, milliseconds(300));
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, core::Errc::Unavailable);
    EXPECT_EQ(opened.error().message,
              "cannot connect to the database postgres://cdn@127.0.0.1:1/images within 300 ms");
    EXPECT_NE(opened.error().detail.find("127.0.0.1"), std::string::npos);
}

TEST_F(PostgresTest, OpenPostgresWithinConnectsToAReachableServer) {
    auto opened = open_postgres_within(options_, milliseconds(5000));
    ASSERT_TRUE(opened) << opened.error().detail;
    EXPECT_TRUE((*opened)->check());
}

} // namespace
} // namespace cdn::db
