// The operator commands that move and save the database (operations.md, issue 16): `db copy` of
// an embedded install populated through the real server into PostgreSQL, then a server on
// PostgreSQL over the same data directory serving the same customers, keys, images and usage;
// `backup` while the server takes writes.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.h"
#include "poll_until.h"
#include "postgres_process.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;

constexpr const char* PASSWORD = "correct horse battery";

/** Rows of `sql` on the SQLite file `file`, each row's columns joined by '|'. */
std::vector<std::string> sqlite_rows(const std::string& file, const std::string& sql) {
    sqlite3* db = nullptr;
    std::vector<std::string> rows;
    EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
        std::string row;
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
            const auto* text = sqlite3_column_text(stmt, i);
            row += (i == 0 ? "" : "|") + std::string(text != nullptr ? (const char*)text : "");
        }
        rows.push_back(row);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
}

/** What a customer saw through the API of the embedded install before the move. */
struct Seen {
    std::string public_key;
    std::string api_key;
    std::string images;
    std::string presets;
    std::string usage;
};

/** A client of one running server. */
struct Client {
    int port;

    RawResponse call(const std::string& method, const std::string& target,
                     const Headers& headers = {}, const std::string& body = {}) const {
        auto res = http_request(port, method, target, headers, body);
        EXPECT_TRUE(res) << method << " " << target;
        return res ? *res : RawResponse{};
    }

    RawResponse login(const std::string& email) const {
        return call("POST", "/api/v1/auth/login", {{"Content-Type", "application/json"}},
                    R"({"email":")" + email + R"(","password":")" + PASSWORD + "\"}");
    }
};

constexpr int DELIVERIES = 5;

/** Signs up, makes a key, uploads two images, saves a preset and serves DELIVERIES requests;
 *  returns what the API then answers, once the usage of those requests is flushed. */
Seen populate(const Client& c) {
    Seen seen;
    const Headers json{{"Content-Type", "application/json"}};
    const auto signup = c.call("POST", "/api/v1/auth/signup", json,
                               R"({"email":"move@example.com","password":")" +
                                   std::string(PASSWORD) + "\"}");
    EXPECT_EQ(signup.status, 201) << signup.body;
    seen.public_key = json_string(signup.body, "public_key");
    const auto login = c.login("move@example.com");
    const Headers with_jwt{{"Content-Type", "application/json"},
                           {"Authorization", "Bearer " + json_string(login.body, "access_token")}};
    const auto key = c.call("POST", "/api/v1/keys", with_jwt, R"({"name":"move"})");
    EXPECT_EQ(key.status, 201) << key.body;
    seen.api_key = json_string(key.body, "secret");

    const auto put = [&](const std::string& path, const std::string& type,
                         const std::string& bytes) {
        EXPECT_EQ(api_call(c.port, "PUT", "/api/v1/images/" + path, seen.api_key, bytes,
                           {{"Content-Type", type}})
                      .status,
                  201);
    };
    put("move/logo.png", "image/png", sample_png());
    put("move/photo.jpg", "image/jpeg", sample_jpeg());
    EXPECT_EQ(api_call(c.port, "PUT", "/api/v1/presets/thumb", seen.api_key,
                       R"({"options":"w=30&h=30&fit=cover"})")
                  .status,
              201);
    for (int i = 0; i < DELIVERIES; ++i) {
        EXPECT_EQ(c.call("GET", "/" + seen.public_key + "/move/photo.jpg?w=40").status, 200);
    }
    // Usage is flushed every 200 ms here: wait until the hour's row counts every request.
    const auto usage_target = "/api/v1/usage?granularity=hour";
    const auto counted = "\"requests\":" + std::to_string(DELIVERIES);
    EXPECT_TRUE(poll_until([&] {
        seen.usage = api_call(c.port, "GET", usage_target, seen.api_key).body;
        return seen.usage.find(counted) != std::string::npos;
    }, std::chrono::seconds(15), std::chrono::milliseconds(100)))
        << seen.usage;
    seen.images = api_call(c.port, "GET", "/api/v1/images", seen.api_key).body;
    seen.presets = api_call(c.port, "GET", "/api/v1/presets", seen.api_key).body;
    return seen;
}

/** The API and the edge of a server on the copied database answer as before the move. */
void expect_same_install(const Client& c, const Seen& seen) {
    // Usage first: the deliveries below add to it.
    EXPECT_EQ(api_call(c.port, "GET", "/api/v1/usage?granularity=hour", seen.api_key).body,
              seen.usage);
    EXPECT_EQ(api_call(c.port, "GET", "/api/v1/images", seen.api_key).body, seen.images);
    EXPECT_EQ(api_call(c.port, "GET", "/api/v1/presets", seen.api_key).body, seen.presets);
    EXPECT_EQ(c.login("move@example.com").status, 200);

    const auto original = c.call("GET", "/" + seen.public_key + "/move/logo.png");
    EXPECT_EQ(original.status, 200);
    EXPECT_EQ(original.body, sample_png());
    const auto variant = c.call("GET", "/" + seen.public_key + "/move/photo.jpg?w=40&format=json");
    EXPECT_EQ(variant.status, 200);
    EXPECT_NE(variant.body.find(R"("output":{"width":40)"), std::string::npos) << variant.body;
    const auto preset = c.call("GET", "/" + seen.public_key + "/move/photo.jpg?preset=thumb");
    EXPECT_EQ(preset.status, 200) << preset.body;
}

TEST(DbCopy, AServerOnPostgresServesTheCopiedInstall) {
    TempDir dir;
    Seen seen;
    {
        ServerProcess embedded(dir.path(), {{"IMAGECDN_USAGE_FLUSH_INTERVAL_MS", "200"}});
        ASSERT_TRUE(embedded.start()) << embedded.stderr_text();
        seen = populate(Client{embedded.port()});
        ASSERT_EQ(embedded.stop(), 0);
    }
    const auto tables = sqlite_rows(dir.path() + "/imagecdn.db",
                                    "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                    "name NOT IN ('schema_migrations', 'sqlite_sequence')");
    ASSERT_GE(tables.size(), 10u);

    auto& postgres = PostgresProcess::shared();
    const auto url = postgres.url(postgres.create_database());
    const auto copied = run_imagecdn_on(dir.path(), {"db", "copy", "--to", url});
    ASSERT_EQ(copied.exit_code, 0) << copied.err;
    for (const auto& table : tables) {
        const auto rows = sqlite_rows(dir.path() + "/imagecdn.db", "SELECT COUNT(*) FROM " + table);
        EXPECT_NE(copied.out.find(table + ": " + rows.at(0) + "\n"), std::string::npos)
            << table << " in\n" << copied.out;
    }
    EXPECT_NE(copied.out.find("originals: 2\n"), std::string::npos) << copied.out;
    EXPECT_NE(copied.out.find("presets: 1\n"), std::string::npos) << copied.out;

    {
        ServerProcess on_postgres(dir.path(), {{"IMAGECDN_DATABASE_URL", url}});
        ASSERT_TRUE(on_postgres.start()) << on_postgres.stderr_text();
        expect_same_install(Client{on_postgres.port()}, seen);
    }

    const auto again = run_imagecdn_on(dir.path(), {"db", "copy", "--to", url});
    EXPECT_EQ(again.exit_code, 2) << again.err;
    EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;
}

TEST(DbCopy, ABadUrlOrSourceIsExit2AndAnUnreachableTargetExit1) {
    TempDir dir;
    auto r = run_imagecdn_on(dir.path(), {"db", "copy", "--to", "mysql://root@127.0.0.1/x"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--to"), std::string::npos) << r.err;

    // Port 1 on loopback: nothing listens there.
    r = run_imagecdn({"db", "copy", "--to", "postgres://postgres@127.0.0.1:1/imagecdn",
                      "--data-dir", dir.path()},
                     {{"IMAGECDN_DATABASE_CONNECT_TIMEOUT_MS", "1000"}});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--to database"), std::string::npos) << r.err;

    // The source must be the embedded database.
    r = run_imagecdn({"db", "copy", "--to", "postgres://postgres@127.0.0.1:1/imagecdn",
                      "--data-dir", dir.path()},
                     {{"IMAGECDN_DATABASE_URL", "postgres://postgres@127.0.0.1:1/other"}});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("embedded SQLite"), std::string::npos) << r.err;
}

TEST(Backup, AConsistentCopyWhileTheServerTakesWrites) {
    TempDir dir;
    const auto account = create_account(dir.path(), "writer@example.com", "pro");
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.start()) << server.stderr_text();
    const auto upload = [&](const std::string& path) {
        return api_call(server.port(), "PUT", "/api/v1/images/" + path,
                        account.api_key, sample_png(), {{"Content-Type", "image/png"}})
            .status;
    };
    // The writer records each upload the server confirmed; the backup must hold every one
    // confirmed before it started.
    std::mutex confirmed_mutex;
    std::vector<std::string> confirmed;
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int i = 0; !done; ++i) {
            const auto path = "w/" + std::to_string(i) + ".png";
            if (upload(path) == 201) {
                std::lock_guard lock(confirmed_mutex);
                confirmed.push_back(path);
            }
        }
    });
    const auto confirmed_now = [&] {
        std::lock_guard lock(confirmed_mutex);
        return confirmed;
    };
    ASSERT_TRUE(poll_until([&] { return confirmed_now().size() >= 5; }, std::chrono::seconds(30)));

    const auto before = confirmed_now();
    const auto file = dir.path() + "/backup.db";
    const auto backup = run_imagecdn_on(dir.path(), {"backup", "--to", file});
    const auto after = confirmed_now().size();
    done = true;
    writer.join();
    ASSERT_EQ(backup.exit_code, 0) << backup.err;
    EXPECT_NE(backup.out.find("backup written to " + file), std::string::npos) << backup.out;

    EXPECT_EQ(sqlite_rows(file, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
    const auto paths = sqlite_rows(file, "SELECT path FROM originals");
    for (const auto& path : before) {
        EXPECT_NE(std::find(paths.begin(), paths.end(), path), paths.end()) << path;
    }
    // At most the one upload in flight when the backup ended is in it unconfirmed.
    EXPECT_LE(paths.size(), after + 1);
    EXPECT_EQ(sqlite_rows(file, "SELECT email FROM customers"),
              std::vector<std::string>{"writer@example.com"});
}

TEST(Backup, OnPostgresPointsToPgDump) {
    TempDir dir;
    const auto r = run_imagecdn({"backup", "--to", dir.path() + "/b.db", "--data-dir", dir.path()},
                                {{"IMAGECDN_DATABASE_URL", "postgres://u@127.0.0.1:1/imagecdn"}});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("pg_dump"), std::string::npos) << r.err;
}

} // namespace
} // namespace cdn::test
