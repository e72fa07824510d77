#include "app/secrets.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "app/config.h"
#include "core/random.h"
#include "core/unique_fd.h"
#include "security/keys.h"

namespace cdn::app {
namespace {

namespace fs = std::filesystem;

core::Error cannot(const std::string& what, const fs::path& path) {
    return core::make_error(core::Errc::Internal,
                            "cannot " + what + " " + path.string() + ": " + std::strerror(errno));
}

core::Error refused(const fs::path& path, const std::string& why) {
    return core::make_error(core::Errc::Forbidden, "the secret file " + path.string() + " " + why);
}

/** The secret in `path`, "" when there is none yet (no file, or an empty one). */
core::Result<std::string> read_secret(const fs::path& path) {
    core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ENOENT) {
            return std::string();
        }
        if (errno == ELOOP) {
            return refused(path, "is a symbolic link: remove it");
        }
        return cannot("read", path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return cannot("read", path);
    }
    if (!S_ISREG(st.st_mode)) {
        return refused(path, "is not a regular file: remove it");
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        return refused(path, "is readable or writable by group or others: chmod 600 " +
                                 path.string());
    }
    std::string secret(static_cast<std::size_t>(st.st_size), '\0');
    if (::read(fd.get(), secret.data(), secret.size()) != static_cast<ssize_t>(secret.size())) {
        return cannot("read", path);
    }
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
        secret.pop_back();
    }
    if (!secret.empty() && secret.size() < MIN_OWN_SECRET_BYTES) {
        return refused(path, "holds fewer than " + std::to_string(MIN_OWN_SECRET_BYTES) +
                                 " bytes: remove it, and a new one is generated");
    }
    return secret;
}

core::Result<void> write_all_and_sync(int fd, const std::string& bytes, const fs::path& path) {
    if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
        ::fsync(fd) != 0) {
        return cannot("write", path);
    }
    return {};
}

core::Result<void> sync_dir(const fs::path& dir) {
    core::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid() || ::fsync(fd.get()) != 0) {
        return cannot("sync", dir);
    }
    return {};
}

/** Publishes `temp` as `path`. An empty file there is replaced; a secret another process put
 *  there meanwhile is kept (false). */
core::Result<bool> publish(const fs::path& temp, const fs::path& path, bool replace_empty) {
    int done = replace_empty ? ::rename(temp.c_str(), path.c_str())
                             : ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(),
                                           RENAME_NOREPLACE);
    if (done != 0 && errno == EINVAL && !replace_empty) {
        // A file system without RENAME_NOREPLACE: link() refuses an existing name too.
        done = ::link(temp.c_str(), path.c_str());
        if (done == 0) {
            ::unlink(temp.c_str());
        }
    }
    if (done == 0) {
        return true;
    }
    const int error = errno;
    ::unlink(temp.c_str());
    errno = error;
    if (error == EEXIST) {
        return false;
    }
    return cannot("rename into place", path);
}

core::Result<std::string> create_secret(const fs::path& path, bool replace_empty) {
    const auto secret = security::generate_secret();
    const auto temp = path.parent_path() / ("." + path.filename().string() + "." +
                                            core::random_hex(8) + ".tmp");
    core::UniqueFd fd(
        ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) {
        return cannot("create", temp);
    }
    if (auto written = write_all_and_sync(fd.get(), secret, temp); !written) {
        ::unlink(temp.c_str());
        return written.error();
    }
    fd = core::UniqueFd();
    CDN_TRY(published, publish(temp, path, replace_empty));
    if (!published) {
        // A file is there: another process's secret (it was first, and its secret is the one),
        // or an empty file, which is replaced.
        CDN_TRY(theirs, read_secret(path));
        return theirs.empty() ? create_secret(path, true) : theirs;
    }
    CDN_TRY_VOID(sync_dir(path.parent_path()));
    return secret;
}

} // namespace

core::Result<void> create_data_dir(const std::string& data_dir) {
    const fs::path dir(data_dir);
    std::error_code ec;
    if (fs::is_directory(dir, ec)) {
        return {};
    }
    if (dir.has_parent_path() && !dir.parent_path().empty()) {
        fs::create_directories(dir.parent_path(), ec);
    }
    if (::mkdir(dir.c_str(), 0700) != 0) {
        // EEXIST: made meanwhile by another process, or not a directory (reported on use).
        return errno == EEXIST ? core::Result<void>{} : cannot("create the data directory", dir);
    }
    // mkdir's mode passes through the umask, which may take more than group and others away.
    if (::chmod(dir.c_str(), 0700) != 0) {
        return cannot("set the mode of", dir);
    }
    return {};
}

core::Result<std::string> load_or_create_secret(const std::string& data_dir,
                                                const std::string& name) {
    const auto path = fs::path(data_dir) / name;
    CDN_TRY(existing, read_secret(path));
    if (!existing.empty()) {
        return existing;
    }
    // Never replacing at first: a file found here now may be another process's secret, published
    // since the read (deciding "empty file, replace it" by a second look replaced such a secret).
    return create_secret(path, false);
}

} // namespace cdn::app
