#include "storage/local_blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/random.h"
#include "storage/key.h"

namespace cdn::storage {
namespace {

namespace fs = std::filesystem;

// Temporary files of unfinished puts: never listed, never served.
constexpr std::string_view TEMP_PREFIX = ".tmp-";

core::Error io_error(std::string_view what, const fs::path& path, int err) {
    return core::make_error(core::Errc::OriginUnavailable, "the image store failed",
                            std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

core::Error not_found() { return core::make_error(core::Errc::NotFound, "no image at this path"); }

bool is_missing(int err) { return err == ENOENT || err == ENOTDIR; }

class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

ObjectInfo info_from(std::string_view key, const struct stat& st) {
    return ObjectInfo{std::string(key), static_cast<std::uint64_t>(st.st_size),
                      static_cast<std::int64_t>(st.st_mtim.tv_sec)};
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

void sync_directory(const fs::path& dir) {
    const FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() >= 0) {
        ::fsync(fd.get());
    }
}

} // namespace

core::Result<BlobStorePtr> LocalBlobStore::create(const fs::path& root) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec || !fs::is_directory(root)) {
        return core::make_error(core::Errc::Unavailable, "cannot use the originals directory",
                                root.string() + ": " + ec.message());
    }
    return BlobStorePtr(new LocalBlobStore(fs::canonical(root)));
}

core::Result<fs::path> LocalBlobStore::path_for(std::string_view key) const {
    CDN_TRY_VOID(validate_key(key));
    return root_ / fs::path(key);
}

core::Result<Object> LocalBlobStore::get(std::string_view key) {
    CDN_TRY(path, path_for(key));
    // O_NOFOLLOW: a symlink planted in the store never leads outside it.
    const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        return is_missing(errno) ? core::Result<Object>(not_found())
                                 : core::Result<Object>(io_error("open", path, errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return io_error("stat", path, errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return not_found();
    }
    Object object{info_from(key, st), std::string(static_cast<std::size_t>(st.st_size), '\0')};
    std::size_t done = 0;
    while (done < object.bytes.size()) {
        const auto n = ::pread(fd.get(), object.bytes.data() + done, object.bytes.size() - done,
                               static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return io_error("read", path, n < 0 ? errno : EIO);
        }
        done += static_cast<std::size_t>(n);
    }
    return object;
}

core::Result<ObjectInfo> LocalBlobStore::head(std::string_view key) {
    CDN_TRY(path, path_for(key));
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return is_missing(errno) ? core::Result<ObjectInfo>(not_found())
                                 : core::Result<ObjectInfo>(io_error("stat", path, errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return not_found();
    }
    return info_from(key, st);
}

core::Result<ObjectInfo> LocalBlobStore::put(std::string_view key, std::string_view bytes) {
    CDN_TRY(path, path_for(key));
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
        return io_error("mkdir", path.parent_path(), ec.value());
    }
    // Write aside, then rename over the target: a crash or a failed write leaves the old
    // object (or none) visible, never a partial one.
    const auto temp = path.parent_path() / (std::string(TEMP_PREFIX) + core::random_hex(8));
    {
        const FileDescriptor fd(
            ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
        if (fd.get() < 0) {
            return io_error("create", temp, errno);
        }
        if (!write_all(fd.get(), bytes) || ::fsync(fd.get()) != 0) {
            const int err = errno;
            ::unlink(temp.c_str());
            return io_error("write", temp, err);
        }
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        if (err == EISDIR || err == ENOTEMPTY) {
            return core::make_error(core::Errc::Conflict, "a folder exists at this path");
        }
        return io_error("rename", path, err);
    }
    sync_directory(path.parent_path());
    return head(key);
}

core::Result<void> LocalBlobStore::remove(std::string_view key) {
    CDN_TRY(path, path_for(key));
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return not_found();
    }
    if (::unlink(path.c_str()) != 0) {
        return is_missing(errno) ? core::Result<void>(not_found())
                                 : core::Result<void>(io_error("unlink", path, errno));
    }
    // Empty folders left behind are removed, up to the root.
    std::error_code ec;
    for (auto dir = path.parent_path(); dir != root_ && dir.string().size() > root_.string().size();
         dir = dir.parent_path()) {
        if (!fs::remove(dir, ec)) {
            break;
        }
    }
    return {};
}

core::Result<ListPage> LocalBlobStore::list(std::string_view prefix, std::string_view after,
                                            std::size_t limit) {
    // Walk only the deepest folder the prefix names.
    const auto slash = prefix.rfind('/');
    const auto base = slash == std::string_view::npos ? root_ : root_ / fs::path(prefix.substr(0, slash));
    std::vector<ObjectInfo> found;
    std::error_code ec;
    if (!fs::is_directory(base, ec)) {
        return ListPage{};
    }
    for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (!it->is_regular_file(ec) || it->path().filename().string().starts_with(TEMP_PREFIX)) {
            continue;
        }
        const auto key = it->path().lexically_relative(root_).string();
        if (!key.starts_with(prefix) || key <= after) {
            continue;
        }
        struct stat st {};
        if (::stat(it->path().c_str(), &st) == 0) {
            found.push_back(info_from(key, st));
        }
    }
    if (ec) {
        return io_error("list", base, ec.value());
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    ListPage page;
    if (found.size() > limit) {
        found.resize(limit);
        page.next_after = found.back().key;
    }
    page.items = std::move(found);
    return page;
}

core::Result<void> LocalBlobStore::check() {
    if (::access(root_.c_str(), R_OK | W_OK | X_OK) != 0) {
        return io_error("access", root_, errno);
    }
    return {};
}

} // namespace cdn::storage
