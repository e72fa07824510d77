#include "storage/local_blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <queue>
#include <span>
#include <utility>

#include "core/unique_fd.h"
#include "core/hash.h"
#include "core/random.h"
#include "core/strings.h"
#include "storage/key.h"

namespace cdn::storage {
namespace {

namespace fs = std::filesystem;

// Temporary files of unfinished puts: never listed, never served, and no key may name one.
constexpr std::string_view TEMP_PREFIX = ".tmp-";
// A concurrent remove() may prune a folder while a put walks through it or writes in it (ENOENT
// on a descriptor of a deleted folder); the put walks and recreates the folders again, up to
// this many times in all.
constexpr int PUT_ATTEMPTS = 5;
constexpr int DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

core::Error io_error(std::string_view what, std::string_view key, int err) {
    if (err == ENAMETOOLONG) {
        // A valid key whose segment is over the file system's limit (255 bytes).
        return core::make_error(core::Errc::InvalidPath, "a path segment is too long");
    }
    return core::make_error(core::Errc::OriginUnavailable, "the image store failed",
                            std::string(what) + " " + std::string(key) + ": " + std::strerror(err));
}

core::Error not_found() { return core::make_error(core::Errc::NotFound, "no image at this path"); }

/** ENOTDIR: a file where a folder was expected; ELOOP: a symlink, which is never followed. */
bool is_missing(int err) {
    // EXDEV: openat2 refused a step outside the root, which no valid key takes.
    return err == ENOENT || err == ENOTDIR || err == ELOOP || err == EXDEV;
}

core::Error read_error(std::string_view what, std::string_view key, int err) {
    return is_missing(err) ? not_found() : io_error(what, key, err);
}

using Fd = core::UniqueFd;

/** A validated key split into its folders (the public key first) and its file name. */
struct KeyPath {
    std::vector<std::string_view> folders;
    std::string_view name;
};

core::Result<KeyPath> parse_key(std::string_view key) {
    CDN_TRY_VOID(validate_key(key));
    auto segments = core::split(key, '/');
    for (const auto segment : segments) {
        if (segment.starts_with(TEMP_PREFIX)) {
            return core::make_error(core::Errc::InvalidPath,
                                    "a path segment must not start with '.tmp-'");
        }
    }
    const auto name = segments.back();
    segments.pop_back();
    return KeyPath{std::move(segments), name};
}

/** The key of an object to read or remove: not_found when deeper than any put accepts (the
 *  folders are the public key and `max_path_segments - 1` more at most), before any I/O. */
core::Result<KeyPath> existing_path(std::string_view key, std::size_t max_path_segments) {
    CDN_TRY(path, parse_key(key));
    if (path.folders.size() > max_path_segments) {
        return not_found();
    }
    return path;
}

/** Opens (or with `create`, makes) one folder inside `parent`, never through a symlink. */
int open_folder(int parent, std::string_view name, bool create) {
    const std::string folder(name);
    for (int attempt = 0; attempt < PUT_ATTEMPTS; ++attempt) {
        const int fd = ::openat(parent, folder.c_str(), DIR_FLAGS);
        if (fd >= 0 || errno != ENOENT || !create) {
            return fd;
        }
        if (::mkdirat(parent, folder.c_str(), 0755) != 0 && errno != EEXIST) {
            return -1;
        }
    }
    errno = ENOENT;
    return -1;
}

// Cleared when the kernel turns openat2 down as such: ENOSYS before Linux 5.6, EPERM from a
// seccomp filter that does not know it (some container runtimes). Then every walk steps.
std::atomic<bool> kernel_has_openat2{true};

/** `path` below `dir` as a folder, resolved by the kernel in one call, refusing any symlink
 *  (ELOOP) and any step outside `dir` (EXDEV); -1 with errno otherwise. */
int open_beneath(int dir, std::span<const std::string_view> folders) {
    std::string path;
    for (const auto folder : folders) {
        path += path.empty() ? "" : "/";
        path += folder;
    }
    open_how how{};
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    return static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof(how)));
}

/** A folder below the root, or why it could not be opened. */
struct OpenedFolder {
    Fd fd;
    /** 0, or the errno that stopped the walk. */
    int err = 0;
    /** False when even the root could not be opened: the store is broken, nothing is missing. */
    bool opened_root = false;
};

/**
 * Folders below the root, resolved without following a symlink or leaving the root, holding
 * O(1) descriptors: openat2 in one call, or one O_NOFOLLOW step per folder with the parent
 * closed once the child is open. A symlink anywhere on the way fails the walk (ELOOP), so no
 * path can leave the root, even if the tree changes meanwhile.
 */
class Tree {
public:
    Tree(const fs::path& root, bool use_openat2) : root_(root), use_openat2_(use_openat2) {}

    OpenedFolder open(std::span<const std::string_view> folders, bool create) const {
        OpenedFolder out{Fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC))};
        if (!out.fd.valid()) {
            out.err = errno;
            return out;
        }
        out.opened_root = true;
        if (folders.empty() || open_in_one_call(out, folders, create)) {
            return out;
        }
        for (const auto folder : folders) {
            Fd child(open_folder(out.fd.get(), folder, create));
            if (!child.valid()) {
                out.err = errno;
                return out;
            }
            out.fd = std::move(child); // the parent is closed with `child` at the loop's end
        }
        return out;
    }

    /** Removes the folders bottom-up while they are empty (rmdir fails otherwise), reopening
     *  each parent from the root rather than holding the whole chain open. */
    void prune_empty(std::span<const std::string_view> folders) const {
        for (std::size_t depth = folders.size(); depth > 0; --depth) {
            const auto parent = open(folders.first(depth - 1), false);
            const std::string name(folders[depth - 1]);
            if (parent.err != 0 || ::unlinkat(parent.fd.get(), name.c_str(), AT_REMOVEDIR) != 0) {
                return;
            }
        }
    }

private:
    /** True when openat2 settled the walk (opened, or failed for good); false to step. */
    bool open_in_one_call(OpenedFolder& out, std::span<const std::string_view> folders,
                          bool create) const {
        if (!use_openat2_ || !kernel_has_openat2.load(std::memory_order_relaxed)) {
            return false;
        }
        const int fd = open_beneath(out.fd.get(), folders);
        if (fd >= 0) {
            out.fd = Fd(fd);
            return true;
        }
        const int err = errno;
        if (err == ENOSYS || err == EPERM) {
            kernel_has_openat2.store(false, std::memory_order_relaxed);
            return false;
        }
        // EAGAIN: a concurrent rename made the kernel give up; ENOENT for a put: folders to make.
        if (err == EAGAIN || (err == ENOENT && create)) {
            return false;
        }
        out.err = err;
        return true;
    }

    const fs::path& root_;
    bool use_openat2_;
};

/** A failed walk to an existing object: a 404 unless the root itself is unusable. */
core::Error walk_error(const OpenedFolder& folder, std::string_view key) {
    return folder.opened_root ? read_error("open", key, folder.err)
                              : io_error("open root", key, folder.err);
}

/** An object's file, opened for reading. */
struct OpenFile {
    Fd fd;
    struct stat st {};
};

core::Result<OpenFile> open_file(const Tree& tree, const KeyPath& path, std::string_view key) {
    const auto folder = tree.open(path.folders, false);
    if (folder.err != 0) {
        return walk_error(folder, key);
    }
    const std::string name(path.name);
    // O_NONBLOCK: opening a FIFO planted in the tree must not hang; it is refused below.
    OpenFile file{Fd(
        ::openat(folder.fd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC))};
    if (!file.fd.valid()) {
        return read_error("open", key, errno);
    }
    if (::fstat(file.fd.get(), &file.st) != 0) {
        return io_error("stat", key, errno);
    }
    if (!S_ISREG(file.st.st_mode)) {
        return not_found();
    }
    return file;
}

/** The whole file, into a buffer that is not zero-filled first (the read fills it). */
core::Result<Bytes> read_all(const OpenFile& file, std::string_view key) {
    auto bytes = Bytes::for_overwrite(static_cast<std::size_t>(file.st.st_size));
    std::size_t done = 0;
    while (done < bytes.size()) {
        const auto n = ::pread(file.fd.get(), bytes.data() + done, bytes.size() - done,
                               static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return io_error("read", key, n < 0 ? errno : EIO);
        }
        done += static_cast<std::size_t>(n);
    }
    return bytes;
}

ObjectInfo info_from(std::string_view key, const struct stat& st, std::string etag) {
    return ObjectInfo{std::string(key), static_cast<std::uint64_t>(st.st_size),
                      static_cast<std::int64_t>(st.st_mtim.tv_sec), std::move(etag)};
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

/** Making a put's folders failed: a file in the way is a conflict, anything else I/O. */
core::Error make_folders_error(std::string_view key, int err) {
    return err == ENOTDIR || err == ELOOP
               ? core::make_error(core::Errc::Conflict,
                                  "a file is in the way of this path's folders")
               : io_error("mkdir", key, err);
}

/** Renaming onto `key` failed: a folder there is a conflict, anything else I/O. */
core::Error rename_error(std::string_view key, int err) {
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
        return core::make_error(core::Errc::Conflict, "a folder exists at this path");
    }
    return io_error("rename", key, err);
}

/** A fully written and synced temporary file, or the errno that stopped it. */
struct TempFile {
    std::string name;
    struct stat st {};
    int err = 0;
};

TempFile write_temp(int dir, std::string_view bytes) {
    TempFile temp{std::string(TEMP_PREFIX) + core::random_hex(8)};
    Fd fd(::openat(dir, temp.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   0644));
    if (!fd.valid()) {
        temp.err = errno;
        return temp;
    }
    const bool written = write_all(fd.get(), bytes) && ::fsync(fd.get()) == 0 &&
                         ::fstat(fd.get(), &temp.st) == 0 && ::close(fd.release()) == 0;
    if (!written) {
        temp.err = errno;
        ::unlinkat(dir, temp.name.c_str(), 0);
    }
    return temp;
}

/** Collects a page: keeps the `limit + 1` smallest matching keys, the extra one telling
 *  whether another page follows, so memory stays bounded whatever the tree holds. */
class PageCollector {
public:
    PageCollector(std::string_view prefix, std::string_view after, std::size_t limit)
        : prefix_(prefix), after_(after), limit_(limit) {}

    /** Whether keys under `folder` (ending in '/') can start with the prefix. */
    bool may_hold(std::string_view folder) const {
        return folder.starts_with(prefix_) || prefix_.starts_with(folder);
    }

    void offer(std::string key, const struct stat& st) {
        if (!key.starts_with(prefix_) || key <= after_) {
            return;
        }
        kept_.push(info_from(key, st, {}));
        if (kept_.size() > limit_ + 1) {
            kept_.pop();
        }
    }

    ListPage page() {
        ListPage page;
        const bool more = kept_.size() > limit_;
        if (more) {
            kept_.pop();
        }
        page.items.resize(kept_.size());
        for (auto it = page.items.rbegin(); it != page.items.rend(); ++it) {
            *it = kept_.top();
            kept_.pop();
        }
        if (more && !page.items.empty()) {
            page.next_after = page.items.back().key;
        }
        return page;
    }

private:
    struct KeyLess {
        bool operator()(const ObjectInfo& a, const ObjectInfo& b) const { return a.key < b.key; }
    };

    std::string_view prefix_;
    std::string_view after_;
    std::size_t limit_;
    std::priority_queue<ObjectInfo, std::vector<ObjectInfo>, KeyLess> kept_; // top = largest
};

struct DirCloser {
    void operator()(DIR* dir) const { ::closedir(dir); }
};

/** A folder's key prefix ("pk_1/a/", or "" for the root) as the folders to open. */
std::vector<std::string_view> folders_of(std::string_view folder) {
    if (folder.empty()) {
        return {};
    }
    return core::split(folder.substr(0, folder.size() - 1), '/');
}

/**
 * Offers the regular files of the open folder `fd` (`folder`, a key prefix) to `out` and adds
 * the subfolders worth walking to `subfolders`. 0 or an errno.
 */
int read_folder(Fd fd, const std::string& folder, std::size_t max_folders, PageCollector& out,
                std::vector<std::string>& subfolders) {
    const std::unique_ptr<DIR, DirCloser> stream(::fdopendir(fd.get()));
    if (!stream) {
        return errno;
    }
    fd.release(); // the DIR stream owns the descriptor now
    const int dir_fd = ::dirfd(stream.get());
    const auto depth = folders_of(folder).size();
    for (errno = 0; const dirent* entry = ::readdir(stream.get()); errno = 0) {
        const std::string_view name = entry->d_name;
        struct stat st {};
        if (name == "." || name == ".." || name.starts_with(TEMP_PREFIX) ||
            ::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        auto key = folder + std::string(name);
        if (S_ISREG(st.st_mode)) {
            out.offer(std::move(key), st);
        } else if (S_ISDIR(st.st_mode) && depth < max_folders && out.may_hold(key + '/')) {
            subfolders.push_back(std::move(key) + '/');
        }
    }
    return errno;
}

/**
 * Offers every regular file under `folder` (a key prefix ending in '/', or "" for the root) to
 * `out`; symlinks, other file types and temporary files are skipped, and so are folders deeper
 * than `max_folders` segments, which no valid key can reach. A folder's entries are read and
 * its descriptor closed before its subfolders are walked, each reopened from the root: the walk
 * holds one folder at a time, however deep the tree. 0 or an errno.
 */
int walk(const Tree& tree, const std::string& folder, std::size_t max_folders,
         PageCollector& out) {
    auto opened = tree.open(folders_of(folder), false);
    if (opened.err != 0) {
        // A subfolder removed or replaced since its parent was read holds nothing to list.
        return opened.opened_root && is_missing(opened.err) ? 0 : opened.err;
    }
    std::vector<std::string> subfolders;
    if (const int err = read_folder(std::move(opened.fd), folder, max_folders, out, subfolders)) {
        return err;
    }
    for (const auto& subfolder : subfolders) {
        if (const int err = walk(tree, subfolder, max_folders, out)) {
            return err;
        }
    }
    return 0;
}

} // namespace

core::Result<BlobStorePtr> LocalBlobStore::create(fs::path root) {
    return create(std::move(root), Options{});
}

core::Result<BlobStorePtr> LocalBlobStore::create(fs::path root, Options options) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (!ec && !fs::is_directory(root, ec) && !ec) {
        ec = std::make_error_code(std::errc::not_a_directory);
    }
    // Canonical, so that the root itself is never reached through a symlink that could change.
    auto canonical = ec ? fs::path() : fs::canonical(root, ec);
    if (ec) {
        return core::make_error(core::Errc::Unavailable, "cannot use the originals directory",
                                root.string() + ": " + ec.message());
    }
    return BlobStorePtr(new LocalBlobStore(std::move(canonical), options));
}

core::Result<Object> LocalBlobStore::get(std::string_view key) {
    CDN_TRY(path, existing_path(key, options_.max_path_segments));
    CDN_TRY(file, open_file(Tree(root_, options_.use_openat2), path, key));
    // Refused before a byte is read; the read takes st_size bytes, never more.
    const auto size = static_cast<std::uint64_t>(file.st.st_size);
    if (options_.max_object_bytes != 0 && size > options_.max_object_bytes) {
        return core::make_error(core::Errc::SourceTooLarge, "the original is too large",
                                std::string(key) + " is over " +
                                    std::to_string(options_.max_object_bytes) + " bytes");
    }
    CDN_TRY(bytes, read_all(file, key));
    auto etag = core::hash128_hex(bytes);
    return Object{info_from(key, file.st, std::move(etag)), std::move(bytes)};
}

core::Result<ObjectInfo> LocalBlobStore::head(std::string_view key) {
    CDN_TRY(path, existing_path(key, options_.max_path_segments));
    CDN_TRY(file, open_file(Tree(root_, options_.use_openat2), path, key));
    CDN_TRY(bytes, read_all(file, key));
    return info_from(key, file.st, core::hash128_hex(bytes));
}

core::Result<ObjectInfo> LocalBlobStore::put(std::string_view key, std::string_view bytes) {
    CDN_TRY(path, parse_key(key));
    // The public key is the first folder; the depth limit is on what follows it.
    CDN_TRY_VOID(validate_depth(key.substr(key.find('/') + 1), options_.max_path_segments));
    const Tree tree(root_, options_.use_openat2);
    for (int attempt = 1;; ++attempt) {
        const bool last_attempt = attempt == PUT_ATTEMPTS;
        const auto folder = tree.open(path.folders, true);
        if (const int err = folder.err; err != 0) {
            if (err == ENOENT && folder.opened_root && !last_attempt) {
                continue; // a folder on the way was pruned by a concurrent remove()
            }
            return make_folders_error(key, err);
        }
        const int parent = folder.fd.get();
        const auto temp = write_temp(parent, bytes);
        if (temp.err == ENOENT && !last_attempt) {
            continue; // our folder was pruned by a concurrent remove(): walk again
        }
        if (temp.err != 0) {
            return io_error("write", key, temp.err);
        }
        // rename() replaces the name atomically; a symlink at the target is replaced, not followed.
        const std::string name(path.name);
        if (::renameat(parent, temp.name.c_str(), parent, name.c_str()) != 0) {
            const int err = errno;
            ::unlinkat(parent, temp.name.c_str(), 0);
            return rename_error(key, err);
        }
        // The rename itself is durable only once the folder is synced.
        ::fsync(parent);
        return info_from(key, temp.st, core::hash128_hex(bytes));
    }
}

core::Result<ObjectInfo> LocalBlobStore::move(std::string_view from, std::string_view to) {
    CDN_TRY(source, existing_path(from, options_.max_path_segments));
    CDN_TRY(target, parse_key(to));
    CDN_TRY_VOID(validate_depth(to.substr(to.find('/') + 1), options_.max_path_segments));
    const Tree tree(root_, options_.use_openat2);
    CDN_TRY(file, open_file(tree, source, from));
    CDN_TRY(bytes, read_all(file, from)); // the ETag is the content's hash
    const auto from_folder = tree.open(source.folders, false);
    if (from_folder.err != 0) {
        return walk_error(from_folder, from);
    }
    const auto to_folder = tree.open(target.folders, true);
    if (to_folder.err != 0) {
        return make_folders_error(to, to_folder.err);
    }
    // One rename: readers of `to` see the old file or the moved one, never a part.
    const std::string from_name(source.name);
    const std::string to_name(target.name);
    if (::renameat(from_folder.fd.get(), from_name.c_str(), to_folder.fd.get(),
                   to_name.c_str()) != 0) {
        const int err = errno;
        return err == ENOENT ? not_found() : rename_error(to, err); // `from` went meanwhile
    }
    ::fsync(to_folder.fd.get());
    tree.prune_empty(source.folders);
    return info_from(to, file.st, core::hash128_hex(bytes));
}

core::Result<void> LocalBlobStore::remove(std::string_view key) {
    CDN_TRY(path, existing_path(key, options_.max_path_segments));
    const Tree tree(root_, options_.use_openat2);
    {
        const auto folder = tree.open(path.folders, false);
        if (folder.err != 0) {
            return walk_error(folder, key);
        }
        const std::string name(path.name);
        struct stat st {};
        if (::fstatat(folder.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            return read_error("stat", key, errno);
        }
        if (!S_ISREG(st.st_mode)) {
            return not_found();
        }
        if (::unlinkat(folder.fd.get(), name.c_str(), 0) != 0) {
            return read_error("unlink", key, errno);
        }
    }
    // Empty folders would otherwise accumulate and slow every list().
    tree.prune_empty(path.folders);
    return {};
}

core::Result<ListPage> LocalBlobStore::list(std::string_view prefix, std::string_view after,
                                            std::size_t limit) {
    if (limit == 0) {
        return ListPage{};
    }
    // Walk only the deepest folder the prefix names; it must be a valid key itself.
    const auto slash = prefix.rfind('/');
    const auto base =
        slash == std::string_view::npos ? std::string_view() : prefix.substr(0, slash);
    if (!base.empty()) {
        CDN_TRY_VOID(validate_key(base));
    }
    const auto max_folders = options_.max_path_segments;
    if (!base.empty() && path_segments(base) > max_folders) {
        return ListPage{};
    }
    const Tree tree(root_, options_.use_openat2);
    PageCollector collector(prefix, after, limit);
    const auto start = base.empty() ? std::string() : std::string(base) + '/';
    if (const int err = walk(tree, start, max_folders, collector); err != 0) {
        return io_error("list", prefix, err);
    }
    return collector.page();
}

core::Result<void> LocalBlobStore::check() {
    // access(2) with W_OK also reports a read-only file system (EROFS).
    if (::access(root_.c_str(), R_OK | W_OK | X_OK) != 0) {
        return io_error("access", root_.string(), errno);
    }
    return {};
}

} // namespace cdn::storage
