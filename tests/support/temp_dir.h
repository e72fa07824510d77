#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace cdn::test {

/** A fresh directory under the system temp dir, removed with everything in it at the end. */
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "imagecdn-test-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    /** The directory's path as a string (the form the server's flags take). */
    std::string path() const { return path_.string(); }
    const std::filesystem::path& fs_path() const { return path_; }

private:
    std::filesystem::path path_;
};

} // namespace cdn::test
