#include "app/secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace cdn::app {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

unsigned mode_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

void write(const fs::path& path, const std::string& bytes, unsigned mode) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    ::chmod(path.c_str(), mode);
}

TEST(Secrets, TheDataDirectoryIsCreated0700WithItsParents) {
    TempDir dir;
    const auto data = dir.fs_path() / "srv" / "imagecdn";
    const auto old_umask = ::umask(0);
    const auto created = create_data_dir(data.string());
    ::umask(old_umask);
    ASSERT_TRUE(created) << created.error().message;
    EXPECT_TRUE(fs::is_directory(data));
    EXPECT_EQ(mode_of(data), 0700u);
    // An existing directory is the operator's: left as it is.
    ::chmod(data.c_str(), 0750);
    EXPECT_TRUE(create_data_dir(data.string()));
    EXPECT_EQ(mode_of(data), 0750u);
}

TEST(Secrets, AGeneratedSecretIs0600KeptAndLeavesNoTemporaryFile) {
    TempDir dir;
    const auto old_umask = ::umask(0); // the file's mode must not depend on the umask
    auto secret = load_or_create_secret(dir.path(), "jwt_secret");
    ::umask(old_umask);
    ASSERT_TRUE(secret) << secret.error().message;
    EXPECT_EQ(secret->size(), 64u);
    EXPECT_EQ(mode_of(dir.fs_path() / "jwt_secret"), 0600u);
    auto again = load_or_create_secret(dir.path(), "jwt_secret");
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *secret);
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.fs_path())) {
        ++files;
    }
    EXPECT_EQ(files, 1u);
}

TEST(Secrets, ConcurrentFirstUsesAgreeOnOneSecret) {
    TempDir dir;
    constexpr int THREADS = 8;
    std::vector<std::string> seen(THREADS);
    std::vector<std::thread> threads;
    for (int i = 0; i < THREADS; ++i) {
        threads.emplace_back([&, i] {
            auto secret = load_or_create_secret(dir.path(), "jwt_secret");
            seen[i] = secret ? *secret : "error: " + secret.error().message;
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    const auto on_disk = load_or_create_secret(dir.path(), "jwt_secret");
    ASSERT_TRUE(on_disk);
    for (const auto& secret : seen) {
        EXPECT_EQ(secret, *on_disk); // nobody kept a secret another one replaced
    }
}

TEST(Secrets, AnEmptyFileIsReplacedByANewSecret) {
    TempDir dir;
    write(dir.fs_path() / "internal_secret", "", 0600);
    auto secret = load_or_create_secret(dir.path(), "internal_secret");
    ASSERT_TRUE(secret) << secret.error().message;
    EXPECT_EQ(secret->size(), 64u);
    EXPECT_EQ(mode_of(dir.fs_path() / "internal_secret"), 0600u);
}

TEST(Secrets, AFileReadableByGroupOrOthersIsRefusedNamingItAndTheFix) {
    for (const unsigned mode : {0640u, 0604u, 0620u}) {
        TempDir dir;
        const auto path = dir.fs_path() / "jwt_secret";
        write(path, std::string(64, 'a'), mode);
        auto secret = load_or_create_secret(dir.path(), "jwt_secret");
        ASSERT_FALSE(secret) << std::oct << mode;
        EXPECT_EQ(secret.error().code, core::Errc::Forbidden);
        EXPECT_NE(secret.error().message.find(path.string()), std::string::npos);
        EXPECT_NE(secret.error().message.find("chmod 600"), std::string::npos);
        EXPECT_EQ(mode_of(path), mode); // refused, not silently fixed or replaced
    }
}

TEST(Secrets, ASymlinkOrAShortSecretIsRefused) {
    TempDir dir;
    write(dir.fs_path() / "elsewhere", std::string(64, 'a'), 0600);
    fs::create_symlink(dir.fs_path() / "elsewhere", dir.fs_path() / "jwt_secret");
    auto linked = load_or_create_secret(dir.path(), "jwt_secret");
    ASSERT_FALSE(linked);
    EXPECT_EQ(linked.error().code, core::Errc::Forbidden);

    write(dir.fs_path() / "internal_secret", "short\n", 0600);
    auto short_secret = load_or_create_secret(dir.path(), "internal_secret");
    ASSERT_FALSE(short_secret);
    EXPECT_EQ(short_secret.error().code, core::Errc::Forbidden);
    EXPECT_NE(short_secret.error().message.find("internal_secret"), std::string::npos);
}

} // namespace
} // namespace cdn::app
