// Start-up against the database (issue 16 items 2 and 3): several nodes migrating one empty
// PostgreSQL at once, a schema newer than the binary, PostgreSQL not reachable (yet), and a
// malformed URL. Each failure is the process's exit code and what it printed.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "db/migrations.h"
#include "db/postgres_database.h"
#include "postgres_process.h"
#include "raw_http.h"
#include "server_process.h"
#include "sql_file.h"

namespace cdn::test {
namespace {

using std::chrono::seconds;

// Generous: these tests start processes (and one a PostgreSQL) on a loaded machine.
constexpr auto STARTUP = seconds(90);

/** Lines the server logged at level error or critical, in either log format
 *  (`{"time":...,"level":"error",...}` or `<time> <level> <message>`). */
std::vector<std::string> error_lines(const std::string& log) {
    std::vector<std::string> found;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string time;
        std::string level;
        words >> time >> level;
        const bool json_error = line.find(R"("level":"error")") != std::string::npos ||
                                line.find(R"("level":"critical")") != std::string::npos;
        if (json_error || level == "error" || level == "critical") {
            found.push_back(line);
        }
    }
    return found;
}

db::DatabasePtr open_postgres_or_fail(const std::string& url) {
    auto database = db::PostgresDatabase::open({.url = url});
    EXPECT_TRUE(database) << database.error().detail;
    return database ? std::move(*database) : nullptr;
}

TEST(DatabaseStartup, ThreeNodesStartingAtOnceOnAnEmptyPostgresMigrateOnce) {
    auto& postgres = PostgresProcess::shared();
    const auto url = postgres.url(postgres.create_database());
    constexpr int NODES = 3;
    std::vector<std::unique_ptr<TempDir>> dirs;
    const std::map<std::string, std::string> env{{"IMAGECDN_DATABASE_URL", url}};
    std::vector<std::unique_ptr<ServerProcess>> nodes;
    for (int i = 0; i < NODES; ++i) {
        dirs.push_back(std::make_unique<TempDir>());
        nodes.push_back(std::make_unique<ServerProcess>(dirs.back()->path(), env));
    }
    // Ports picked here, one after another and all different, not by the racing threads.
    std::set<int> ports;
    while (ports.size() < NODES) {
        ports.insert(free_port());
    }
    for (auto port = ports.begin(); const auto& node : nodes) {
        node->use_port(*port++);
    }
    // Launched together; each start() returns when its node answers /healthz (or exited).
    std::vector<char> healthy(NODES, 0);
    std::vector<std::thread> starting;
    for (int i = 0; i < NODES; ++i) {
        starting.emplace_back([&, i] { healthy[i] = nodes[i]->start(STARTUP) ? 1 : 0; });
    }
    for (auto& thread : starting) {
        thread.join();
    }
    for (int i = 0; i < NODES; ++i) {
        EXPECT_TRUE(healthy[i]) << "node " << i << ": " << nodes[i]->stderr_text();
        EXPECT_EQ(error_lines(nodes[i]->stderr_text()), std::vector<std::string>{})
            << "node " << i;
        // Every line is the service's own: no libpq NOTICE printed around the log format.
        EXPECT_EQ(nodes[i]->stderr_text().find("NOTICE"), std::string::npos)
            << "node " << i << ": " << nodes[i]->stderr_text();
    }

    auto database = open_postgres_or_fail(url);
    ASSERT_NE(database, nullptr);
    auto applied = database->query(
        "SELECT version, COUNT(*) FROM schema_migrations GROUP BY version ORDER BY version");
    ASSERT_TRUE(applied) << applied.error().detail;
    ASSERT_EQ(applied->size(), db::migrations().size());
    for (std::size_t i = 0; i < applied->size(); ++i) {
        EXPECT_EQ((*applied)[i].integer(0), db::migrations()[i].version);
        EXPECT_EQ((*applied)[i].integer(1), 1) << "version " << db::migrations()[i].version;
    }
}

/** An install on SQLite (its data directory) or on a fresh PostgreSQL database. */
class EngineStartup : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        if (GetParam() == "postgres") {
            auto& postgres = PostgresProcess::shared();
            url_ = postgres.url(postgres.create_database());
            env_["IMAGECDN_DATABASE_URL"] = url_;
        }
    }

    CommandResult imagecdn(const std::string& command) {
        return run_imagecdn({command, "--data-dir", dir_.path()}, env_);
    }

    /** Records a schema version this binary does not know, as a newer binary would. */
    void record_version(int version) {
        const std::string insert = "INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                                   std::to_string(version) + ", 0)";
        if (url_.empty()) {
            sql_exec(dir_.path(), insert);
            return;
        }
        auto database = open_postgres_or_fail(url_);
        ASSERT_NE(database, nullptr);
        auto inserted = database->execute(insert);
        ASSERT_TRUE(inserted) << inserted.error().detail;
    }

    TempDir dir_;
    std::string url_;
    std::map<std::string, std::string> env_;
};

INSTANTIATE_TEST_SUITE_P(Engines, EngineStartup, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(EngineStartup, ASchemaNewerThanTheBinaryStopsServeAndMigrate) {
    ASSERT_EQ(imagecdn("migrate").exit_code, 0);
    const int newest = db::migrations().back().version;
    ASSERT_NO_FATAL_FAILURE(record_version(newest + 1));
    const std::string expected = "database schema version " + std::to_string(newest + 1) +
                                 " is newer than this binary (" + std::to_string(newest) +
                                 "): upgrade imagecdn";

    const auto migrated = imagecdn("migrate");
    EXPECT_EQ(migrated.exit_code, 1);
    EXPECT_NE(migrated.err.find(expected), std::string::npos) << migrated.err;

    ServerProcess server(dir_.path(), env_);
    EXPECT_FALSE(server.start(STARTUP));
    EXPECT_EQ(server.stop(), 1);
    EXPECT_NE(server.stderr_text().find(expected), std::string::npos) << server.stderr_text();
}

TEST(DatabaseStartup, AnUnreachablePostgresIsExit1NamingItWithoutThePassword) {
    TempDir dir;
    // Nothing listens on a port the kernel just handed out and took back.
    const auto port = std::to_string(free_port());
    const std::map<std::string, std::string> env{
        {"IMAGECDN_DATABASE_URL", "postgres://cdn:hunter2@127.0.0.1:" + port + "/cdn"},
        {"IMAGECDN_DATABASE_CONNECT_TIMEOUT_MS", "1500"}};
    const std::string named = "postgres://cdn@127.0.0.1:" + port + "/cdn";

    const auto migrated = run_imagecdn({"migrate", "--data-dir", dir.path()}, env);
    EXPECT_EQ(migrated.exit_code, 1);
    EXPECT_NE(migrated.err.find(named), std::string::npos) << migrated.err;
    EXPECT_NE(migrated.err.find("within 1500 ms"), std::string::npos) << migrated.err;
    EXPECT_EQ(migrated.err.find("hunter2"), std::string::npos) << migrated.err;

    ServerProcess server(dir.path(), env);
    EXPECT_FALSE(server.start(STARTUP));
    EXPECT_EQ(server.stop(), 1);
    EXPECT_NE(server.stderr_text().find(named), std::string::npos) << server.stderr_text();
    EXPECT_EQ(server.stderr_text().find("hunter2"), std::string::npos) << server.stderr_text();
}

TEST(DatabaseStartup, ServeWaitsForAPostgresThatComesUpWithinTheTimeout) {
    TempDir dir;
    const int port = free_port();
    ServerProcess server(
        dir.path(),
        {{"IMAGECDN_DATABASE_URL", "postgres://postgres@127.0.0.1:" + std::to_string(port) +
                                       "/postgres"},
         {"IMAGECDN_DATABASE_CONNECT_TIMEOUT_MS", "60000"}});
    bool healthy = false;
    std::thread starting([&] { healthy = server.start(STARTUP); });
    // The server is already retrying while this initdb's and starts PostgreSQL on its port.
    std::unique_ptr<PostgresProcess> postgres;
    EXPECT_NO_THROW(postgres = std::make_unique<PostgresProcess>(port));
    starting.join();
    EXPECT_TRUE(healthy) << server.stderr_text();
    EXPECT_EQ(server.stop(), 0);
}

TEST(DatabaseStartup, AMalformedOrUnsupportedUrlIsExit2NamingTheKey) {
    TempDir dir;
    for (const char* url : {"postgres://u:hunter2@[::1/db", "mysql://u:hunter2@h/db"}) {
        for (const char* command : {"migrate", "serve"}) {
            const auto r = run_imagecdn({command, "--data-dir", dir.path()},
                                        {{"IMAGECDN_DATABASE_URL", url}});
            EXPECT_EQ(r.exit_code, 2) << command << " " << url;
            EXPECT_NE(r.err.find("database.url"), std::string::npos) << r.err;
            EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
        }
    }
}

} // namespace
} // namespace cdn::test
