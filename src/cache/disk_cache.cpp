#include "cache/disk_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <numeric>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "cache/disk_index.h"
#include "core/hash.h"
#include "core/unique_fd.h"
#include "core/random.h"

namespace cdn::cache {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t MAGIC = 0x43444349; // "ICDC" in little-endian order
// 2 added fresh_until; files of version 1 fail plausible() and are dropped as unreadable.
constexpr std::uint32_t VERSION = 2;
// Keys, content types and ETags are short; anything longer is a corrupt header.
constexpr std::uint32_t MAX_FIELD = 64 * 1024;
constexpr std::string_view TEMP_PREFIX = ".tmp-";
constexpr std::int64_t PAUSE_AFTER_FAILURE_MS = 5'000;
constexpr std::int64_t LOG_EVERY_MS = 60'000;
// mtimes only order entries at the next start; coarse touches keep hits free of writes.
constexpr std::int64_t TOUCH_EVERY_MS = 60'000;

/** The fixed start of every file; ordered so that it has no padding. */
struct FileHeader {
    std::uint32_t magic = MAGIC;
    std::uint32_t version = VERSION;
    std::int64_t last_modified = 0;
    std::int64_t stored_at = 0;
    std::int64_t fresh_until = 0;
    std::uint64_t body_size = 0;
    std::uint64_t body_hash = 0;
    std::uint32_t key_size = 0;
    std::uint32_t content_type_size = 0;
    std::uint32_t etag_size = 0;
    std::uint32_t status = 0;

    std::uint64_t fields_size() const {
        return std::uint64_t{key_size} + content_type_size + etag_size;
    }
    std::uint64_t file_size() const { return sizeof(FileHeader) + fields_size() + body_size; }
    bool plausible(std::uint64_t actual_file_size) const {
        return magic == MAGIC && version == VERSION && key_size <= MAX_FIELD &&
               content_type_size <= MAX_FIELD && etag_size <= MAX_FIELD &&
               body_size <= actual_file_size && file_size() == actual_file_size;
    }
};
static_assert(std::has_unique_object_representations_v<FileHeader>, "FileHeader has padding");

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

using Fd = core::UniqueFd;

bool read_exact(int fd, char* out, std::size_t size, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < size) {
        const auto n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

/** A file's header and its three short fields, checked against the file's size. */
struct FileHead {
    FileHeader header;
    /** Nanoseconds; touched on hits, so it orders entries at open. */
    std::int64_t mtime_ns = 0;
    std::string key;
    std::string content_type;
    std::string etag;
};

std::optional<FileHead> read_head(int fd) {
    struct stat st {};
    FileHead head;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        !read_exact(fd, reinterpret_cast<char*>(&head.header), sizeof(FileHeader), 0) ||
        !head.header.plausible(static_cast<std::uint64_t>(st.st_size))) {
        return std::nullopt;
    }
    head.mtime_ns = std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    std::string fields(head.header.fields_size(), '\0');
    if (!read_exact(fd, fields.data(), fields.size(), sizeof(FileHeader))) {
        return std::nullopt;
    }
    std::string_view rest = fields;
    head.key = rest.substr(0, head.header.key_size);
    rest.remove_prefix(head.header.key_size);
    head.content_type = rest.substr(0, head.header.content_type_size);
    head.etag = rest.substr(head.header.content_type_size);
    return head;
}

/** The variant a file's head describes, without its body. */
std::shared_ptr<CachedVariant> variant_of(FileHead head) {
    auto v = std::make_shared<CachedVariant>();
    v->key = std::move(head.key);
    v->content_type = std::move(head.content_type);
    v->etag = std::move(head.etag);
    v->last_modified = head.header.last_modified;
    v->stored_at = head.header.stored_at;
    v->fresh_until = head.header.fresh_until;
    v->status = head.header.status;
    return v;
}

std::uint64_t body_offset(const FileHeader& header) {
    return sizeof(FileHeader) + header.fields_size();
}

/** The body at the end of the file, if its checksum is the header's. */
std::optional<std::string> read_body(int fd, const FileHeader& header) {
    std::string body(header.body_size, '\0');
    if (!read_exact(fd, body.data(), body.size(), body_offset(header)) ||
        core::hash64(body) != header.body_hash) {
        return std::nullopt;
    }
    return body;
}


/** The whole variant, or nullptr if the file is not a sound cache file for `key`. */
std::shared_ptr<CachedVariant> read_variant(int fd, std::string_view key) {
    auto head = read_head(fd);
    if (!head || head->key != key) {
        return nullptr;
    }
    auto body = read_body(fd, head->header);
    if (!body) {
        return nullptr;
    }
    auto v = variant_of(std::move(*head));
    v->body = std::move(*body);
    return v;
}

/** The file's inode, size and ctime, or nullopt when fstat fails. */
std::optional<DiskCache::FileIdentity> identity_of(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return std::nullopt;
    }
    return DiskCache::FileIdentity{static_cast<std::uint64_t>(st.st_ino),
                                   static_cast<std::uint64_t>(st.st_size),
                                   st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec};
}

/** Everything before the body. */
std::string encode_head(const CachedVariant& v) {
    FileHeader header;
    header.last_modified = v.last_modified;
    header.stored_at = v.stored_at;
    header.fresh_until = v.fresh_until;
    header.body_size = v.body.size();
    header.body_hash = core::hash64(v.body);
    header.key_size = static_cast<std::uint32_t>(v.key.size());
    header.content_type_size = static_cast<std::uint32_t>(v.content_type.size());
    header.etag_size = static_cast<std::uint32_t>(v.etag.size());
    header.status = v.status;
    std::string out(reinterpret_cast<const char*>(&header), sizeof(header));
    out += v.key;
    out += v.content_type;
    out += v.etag;
    return out;
}

bool write_all(int fd, std::string_view head, std::string_view body) {
    while (!head.empty() || !body.empty()) {
        iovec parts[2] = {{const_cast<char*>(head.data()), head.size()},
                          {const_cast<char*>(body.data()), body.size()}};
        const auto n = ::writev(fd, parts, 2);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        auto written = static_cast<std::size_t>(n);
        const auto from_head = std::min(written, head.size());
        head.remove_prefix(from_head);
        body.remove_prefix(written - from_head);
    }
    return true;
}

/** Writes a temporary file beside `target`; its path, or nullopt (errno set). No fsync: a
 *  file cut short by a crash fails its size check and is dropped at the next start. */
std::optional<std::string> write_temp(const fs::path& target, std::string_view head,
                                      std::string_view body) {
    auto temp = (target.parent_path() / (std::string(TEMP_PREFIX) + core::random_hex(8))).string();
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        return std::nullopt;
    }
    const bool written = write_all(fd, head, body);
    const int write_errno = errno;
    if (::close(fd) != 0 || !written) {
        ::unlink(temp.c_str());
        errno = written ? errno : write_errno;
        return std::nullopt;
    }
    return temp;
}

bool is_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/** Visits each entry directly in `dir`; never throws (an error ends the walk). */
template <class Visit> void for_each_entry(const fs::path& dir, Visit visit) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        visit(*it);
    }
}

/** Removes `.tmp-*` files directly in `dir`: saves of the index cut short. */
void remove_stale_temps(const fs::path& dir) {
    for_each_entry(dir, [](const fs::directory_entry& entry) {
        std::error_code ec;
        if (entry.path().filename().string().starts_with(TEMP_PREFIX)) {
            fs::remove(entry.path(), ec);
        }
    });
}

std::vector<std::size_t> every_subdir() {
    std::vector<std::size_t> all(disk_index::SUBDIRS);
    std::iota(all.begin(), all.end(), std::size_t{0});
    return all;
}

/** `.lock` in the directory, held with flock for the life of the cache; -1 if taken. */
int lock_directory(const fs::path& dir) {
    const int fd = ::open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

core::Error unusable(const fs::path& dir, const std::string& why) {
    return core::make_error(core::Errc::Unavailable, "the disk cache directory is unusable",
                            dir.string() + ": " + why);
}

} // namespace

DiskCache::DiskCache(fs::path dir, std::uint64_t capacity_bytes, int lock_fd)
    : dir_(std::move(dir)), capacity_(capacity_bytes), lock_fd_(lock_fd) {}

DiskCache::~DiskCache() {
    if (scanner_.joinable()) {
        scanner_.request_stop();
        scanner_.join();
    }
    save_index(); // before the lock goes, so that no other process changes the directory first
    ::close(lock_fd_);
}

core::Result<std::unique_ptr<DiskCache>> DiskCache::open(fs::path dir,
                                                         std::uint64_t capacity_bytes,
                                                         Startup startup) {
    std::error_code ec;
    dir = fs::absolute(dir, ec);
    if (!ec) {
        fs::create_directories(dir, ec);
    }
    if (ec) {
        return unusable(dir, ec.message());
    }
    if (!fs::is_directory(dir, ec) || ::access(dir.c_str(), W_OK | X_OK) != 0) {
        return unusable(dir, "not a writable directory");
    }
    const int lock_fd = lock_directory(dir);
    if (lock_fd < 0) {
        return unusable(dir, "cannot lock it (another process uses it?)");
    }
    auto cache = std::unique_ptr<DiskCache>(new DiskCache(std::move(dir), capacity_bytes, lock_fd));
    cache->load_index(startup);
    return cache;
}

fs::path DiskCache::file_for(std::string_view key) const {
    const auto hash = core::hash128_hex(key);
    return dir_ / hash.substr(0, 2) / hash;
}

void DiskCache::load_index(Startup startup) {
    const auto start = std::chrono::steady_clock::now();
    auto saved = disk_index::take(dir_);
    auto to_scan = saved ? std::move(saved->untrusted) : every_subdir();
    remove_stale_temps(dir_); // a save cut short by a crash
    const bool background = startup == Startup::Background && !to_scan.empty();
    // Alongside a background scan, puts write temporary files too: only clearly older ones
    // (mtimes are coarse) are unfinished writes of an earlier run.
    stale_temps_before_ = background
                              ? fs::file_time_type::clock::now() - std::chrono::seconds(1)
                              : fs::file_time_type::max();
    auto scanned = background ? std::vector<Entry>{} : scan(to_scan);
    std::lock_guard lock(mutex_);
    if (saved) {
        adopt(*saved);
    }
    // Scanned entries come after the saved ones: their subdirectories changed since the save.
    for (auto& entry : scanned) {
        append_entry(std::move(entry));
    }
    evict_over_capacity();
    spdlog::info("disk cache: {} entries, {} bytes in {} ({}, {} subdirectories {}, {:.2f} s);"
                 " {} unreadable files removed",
                 lru_.size(), bytes_, dir_.string(), saved ? "saved index" : "no saved index",
                 to_scan.size(), background ? "to scan in the background" : "scanned",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                 errors_.load());
    if (background) {
        indexing_ = true;
        unscanned_ = to_scan;
        scanner_ = std::jthread([this, to_scan](std::stop_token stop) {
            background_scan(stop, to_scan);
        });
    }
}

void DiskCache::background_scan(std::stop_token stop, const std::vector<std::size_t>& subdirs) {
    const auto start = std::chrono::steady_clock::now();
    auto scanned = scan(subdirs, stop);
    if (stop.stop_requested()) {
        return; // closing: the saved index marks the subdirectories as still to scan
    }
    const auto found = scanned.size();
    merge_scanned(std::move(scanned));
    spdlog::info("disk cache: background scan of {} subdirectories found {} files in {:.2f} s; {} "
                 "entries in all",
                 subdirs.size(), found,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                 entries());
}

void DiskCache::merge_scanned(std::vector<Entry> scanned) {
    // In batches, so that hits wait at most one batch for the lock.
    constexpr std::size_t MERGE_BATCH = 4096;
    for (std::size_t from = 0; from < scanned.size(); from += MERGE_BATCH) {
        std::lock_guard lock(mutex_);
        for (auto i = from; i < std::min(from + MERGE_BATCH, scanned.size()); ++i) {
            auto& entry = scanned[i];
            if (index_.contains(entry.key)) {
                continue; // stored again since open(): its file replaced the scanned one
            }
            if (purged_while_indexing(entry.key)) {
                ::unlink(file_for(entry.key).c_str());
                continue;
            }
            append_entry(std::move(entry));
        }
        evict_over_capacity();
    }
    std::lock_guard lock(mutex_);
    indexing_ = false;
    unscanned_.clear();
    purged_while_indexing_.clear();
}

bool DiskCache::purged_while_indexing(std::string_view key) const {
    // A linear check: purges are rare in the seconds a scan takes.
    return std::any_of(purged_while_indexing_.begin(), purged_while_indexing_.end(),
                       [key](const std::string& prefix) { return key.starts_with(prefix); });
}

bool DiskCache::indexing() const {
    std::lock_guard lock(mutex_);
    return indexing_;
}

void DiskCache::adopt(disk_index::Loaded& saved) {
    const auto now = steady_ms();
    index_.reserve(saved.entries.size()); // no rehash while a million entries go in
    std::vector<Lru::iterator> where(saved.entries.size(), lru_.end());
    for (const auto i : saved.lru_order) {
        auto& entry = saved.entries[i];
        lru_.push_back(Entry{std::move(entry.key), entry.bytes, now});
        if (!index_.emplace(lru_.back().key, std::prev(lru_.end())).second) {
            lru_.pop_back(); // a key twice: only in a damaged index
            continue;
        }
        bytes_ += entry.bytes;
        where[i] = std::prev(lru_.end());
    }
    // Key order, so each insert goes at the end: linear, not n log n.
    for (const auto it : where) {
        if (it != lru_.end()) {
            ordered_.emplace_hint(ordered_.end(), it->key);
        }
    }
}

std::vector<DiskCache::Entry> DiskCache::scan(const std::vector<std::size_t>& subdirs,
                                              std::stop_token stop) {
    std::vector<std::vector<Found>> found(std::clamp(std::thread::hardware_concurrency(), 2u, 8u));
    {
        // Threads, so that the file reads of a cold page cache overlap.
        std::vector<std::jthread> workers;
        for (std::size_t t = 0; t < found.size(); ++t) {
            workers.emplace_back([&, t] {
                for (std::size_t i = t; i < subdirs.size() && !stop.stop_requested();
                     i += found.size()) {
                    scan_subdir(subdirs[i], found[t]);
                }
            });
        }
    }
    std::vector<Found> all;
    for (auto& part : found) {
        std::move(part.begin(), part.end(), std::back_inserter(all));
    }
    // Most recently used first: the mtime was touched on hits.
    std::sort(all.begin(), all.end(),
              [](const Found& a, const Found& b) { return a.mtime_ns > b.mtime_ns; });
    std::vector<Entry> entries;
    entries.reserve(all.size());
    for (auto& f : all) {
        entries.push_back(std::move(f.entry));
    }
    return entries;
}

void DiskCache::scan_subdir(std::size_t subdir, std::vector<Found>& found) {
    char name[3];
    std::snprintf(name, sizeof(name), "%02zx", subdir);
    const auto path = dir_ / name;
    struct stat st {};
    // Only names this cache makes are considered, and only those are ever deleted: a
    // misconfigured path never loses files that are not ours.
    if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return;
    }
    for_each_entry(path, [&](const fs::directory_entry& file) {
        if (auto entry = index_file(file.path(), name)) {
            found.push_back(std::move(*entry));
        }
    });
}

void DiskCache::append_entry(Entry entry) {
    lru_.push_back(std::move(entry));
    if (!index_.emplace(lru_.back().key, std::prev(lru_.end())).second) {
        lru_.pop_back(); // a key twice: only in a damaged saved index
        return;
    }
    bytes_ += lru_.back().bytes;
    ordered_.insert(lru_.back().key);
}

void DiskCache::save_index() {
    std::lock_guard lock(mutex_);
    // Only the destructor saves, so touched_ms is read no more: it holds each entry's LRU rank
    // while the entries are written in key order (a map from key to rank costs seconds at 1M).
    std::int64_t rank = 0;
    for (auto& entry : lru_) {
        entry.touched_ms = rank++;
    }
    disk_index::Writer writer(dir_, unscanned_);
    for (const auto key : ordered_) {
        const auto& entry = *index_.find(key)->second;
        writer.add(key, entry.bytes, static_cast<std::uint64_t>(entry.touched_ms));
    }
    if (!writer.commit()) {
        spdlog::warn("disk cache: cannot save the index in {}: the next start scans every file",
                     dir_.string());
    }
}

std::optional<DiskCache::Found> DiskCache::index_file(const fs::path& path,
                                                      std::string_view sub_name) {
    const auto name = path.filename().string();
    std::error_code ec;
    if (name.starts_with(TEMP_PREFIX)) {
        // An unfinished write of an earlier run, or a put() of this one in progress.
        if (fs::last_write_time(path, ec) < stale_temps_before_ && !ec) {
            fs::remove(path, ec);
        }
        return std::nullopt;
    }
    if (name.size() != 32 || !is_hex(name) || !name.starts_with(sub_name)) {
        return std::nullopt;
    }
    const Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid() && errno == ENOENT) {
        return std::nullopt; // evicted or purged since it was listed: nothing to index
    }
    auto head = fd.valid() ? read_head(fd.get()) : std::nullopt;
    if (!head || file_for(head->key) != path) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        fs::remove(path, ec); // corrupt, or not where its key says
        return std::nullopt;
    }
    return Found{Entry{std::move(head->key), head->header.file_size(), steady_ms()},
                 head->mtime_ns};
}

bool DiskCache::mark_used(std::string_view key) {
    std::lock_guard lock(mutex_);
    const auto it = index_.find(key);
    if (it == index_.end()) {
        return false;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    return true;
}

bool DiskCache::holds(std::string_view key) const {
    std::lock_guard lock(mutex_);
    return index_.contains(key);
}

VariantPtr DiskCache::get(std::string_view key, HeaderBlockBuilder headers) {
    if (!mark_used(key)) {
        return nullptr;
    }
    const auto path = file_for(key);
    const Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    auto variant = fd.valid() ? read_variant(fd.get(), key) : nullptr;
    if (!variant) {
        drop_unreadable(key, fd.valid() ? "corrupt file" : std::strerror(errno));
        return nullptr;
    }
    if (headers != nullptr) {
        variant->response_headers = headers(*variant);
    }
    if (touch_due(key)) {
        ::futimens(fd.get(), nullptr); // the mtime orders the index at the next start
    }
    return variant;
}

VariantPtr DiskCache::get_to_send(std::string_view key, HeaderBlockBuilder headers) {
    if (!mark_used(key)) {
        return nullptr;
    }
    const auto path = file_for(key);
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
        drop_unreadable(key, std::strerror(errno));
        return nullptr;
    }
    // Touched before the file's identity is taken: the touch changes its ctime.
    if (touch_due(key)) {
        ::futimens(fd.get(), nullptr);
    }
    auto head = read_head(fd.get());
    const auto file = head && head->key == key ? identity_of(fd.get()) : std::nullopt;
    // The body is read and hashed only for a file not verified yet (or changed since).
    if (!file || !(body_verified(key, *file) || read_body(fd.get(), head->header))) {
        drop_unreadable(key, "corrupt file");
        return nullptr;
    }
    const auto header = head->header;
    auto variant = variant_of(std::move(*head));
    variant->body_file = std::make_shared<const BodyFile>(
        BodyFile{std::move(fd), body_offset(header), header.body_size});
    if (headers != nullptr) {
        variant->response_headers = headers(*variant);
    }
    keep_open(key, variant, *file);
    return variant;
}

VariantPtr DiskCache::find_open(std::string_view key) {
    OpenFile found;
    {
        std::lock_guard lock(mutex_);
        const auto it = index_.find(key);
        const auto open = open_files_.find(key);
        // A touch due is left to get_to_send(): the mtime orders the index at the next start.
        if (it == index_.end() || open == open_files_.end() ||
            steady_ms() - it->second->touched_ms >= TOUCH_EVERY_MS) {
            return nullptr;
        }
        lru_.splice(lru_.begin(), lru_, it->second);
        found = open->second;
    }
    // Rewritten in place since it was verified (a new ctime): read and check it again.
    return identity_of(found.variant->body_file->fd.get()) == found.verified ? found.variant
                                                                              : nullptr;
}

void DiskCache::keep_open(std::string_view key, const VariantPtr& opened,
                          const FileIdentity& file) {
    std::lock_guard lock(mutex_);
    if (!index_.contains(key)) {
        return; // evicted or purged meanwhile
    }
    if (const auto it = open_files_.find(key); it != open_files_.end()) {
        it->second.variant = opened;
        it->second.verified = file;
        return;
    }
    if (open_files_.size() >= MAX_OPEN_FILES) {
        close_open(open_order_.front());
    }
    const auto slot = open_order_.insert(open_order_.end(), std::string(key));
    open_files_.emplace(*slot, OpenFile{opened, file, slot});
}

void DiskCache::close_open(std::string_view key) {
    // Answers being sent keep their own reference to the file.
    if (const auto it = open_files_.find(key); it != open_files_.end()) {
        const auto slot = it->second.slot;
        open_files_.erase(it); // before the string its key views
        open_order_.erase(slot);
    }
}

bool DiskCache::body_verified(std::string_view key, const FileIdentity& file) const {
    std::lock_guard lock(mutex_);
    const auto it = open_files_.find(key);
    return it != open_files_.end() && it->second.verified == file;
}

bool DiskCache::touch_due(std::string_view key) {
    const auto now = steady_ms();
    std::lock_guard lock(mutex_);
    const auto it = index_.find(key);
    if (it == index_.end() || now - it->second->touched_ms < TOUCH_EVERY_MS) {
        return false;
    }
    it->second->touched_ms = now;
    return true;
}

void DiskCache::drop_unreadable(std::string_view key, const std::string& why) {
    std::unique_lock lock(mutex_);
    const auto it = index_.find(key);
    if (it == index_.end()) {
        return; // evicted or purged while we read: an ordinary miss
    }
    forget(it->second, true);
    lock.unlock();
    note_failure("unreadable file for " + std::string(key) + ": " + why, false);
}

void DiskCache::put(const CachedVariant& variant) {
    if (std::max({variant.key.size(), variant.content_type.size(), variant.etag.size()}) >
        MAX_FIELD) {
        return; // could not be read back
    }
    const auto head = encode_head(variant);
    const auto bytes = head.size() + variant.body.size();
    // A variant over the whole capacity would evict everything and then itself.
    if (bytes > capacity_ || writes_paused()) {
        return;
    }
    const auto path = file_for(variant.key);
    // mkdir, not create_directories: a deleted cache directory is not silently recreated.
    if (::mkdir(path.parent_path().c_str(), 0755) != 0 && errno != EEXIST) {
        note_failure("cannot create " + path.parent_path().string() + ": " + std::strerror(errno),
                     true);
        return;
    }
    const auto temp = write_temp(path, head, variant.body);
    if (!temp) {
        note_failure("cannot write in " + path.parent_path().string() + ": " + std::strerror(errno),
                     true);
        return;
    }
    if (!install(variant, *temp, bytes)) {
        ::unlink(temp->c_str());
    }
}

/** Renames the written file into place and indexes it; under the lock, so that the index and
 *  the files agree whatever other puts, gets and evictions run meanwhile. */
bool DiskCache::install(const CachedVariant& variant, const std::string& temp,
                        std::uint64_t bytes) {
    const auto path = file_for(variant.key);
    std::unique_lock lock(mutex_);
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        lock.unlock();
        note_failure("cannot rename into " + path.string() + ": " + std::strerror(err), true);
        return false;
    }
    record(Entry{variant.key, bytes, steady_ms()});
    evict_over_capacity();
    return true;
}

void DiskCache::record(Entry entry) {
    if (const auto it = index_.find(entry.key); it != index_.end()) {
        forget(it->second, false); // its file was just replaced by the new one
    }
    bytes_ += entry.bytes;
    lru_.push_front(std::move(entry));
    index_.emplace(lru_.front().key, lru_.begin());
    ordered_.insert(lru_.front().key);
}

void DiskCache::forget(Lru::iterator it, bool unlink_file) {
    close_open(it->key);
    if (unlink_file) {
        ::unlink(file_for(it->key).c_str());
    }
    bytes_ -= it->bytes;
    index_.erase(it->key);
    ordered_.erase(it->key);
    lru_.erase(it);
}

void DiskCache::evict_over_capacity() {
    while (bytes_ > capacity_ && !lru_.empty()) {
        forget(std::prev(lru_.end()), true);
    }
}

std::size_t DiskCache::erase_prefix(std::string_view prefix) {
    {
        // Files a background scan has not indexed yet are purged as it merges them.
        std::lock_guard lock(mutex_);
        if (indexing_) {
            purged_while_indexing_.emplace_back(prefix);
        }
    }
    std::size_t erased = 0;
    for (bool more = true; more;) {
        std::lock_guard lock(mutex_);
        auto it = ordered_.lower_bound(prefix);
        for (std::size_t batch = 0;
             batch < ERASE_BATCH && it != ordered_.end() && it->starts_with(prefix); ++batch) {
            const auto entry = index_.find(*it++)->second; // `it` moves off before the erase
            forget(entry, true);
            ++erased;
        }
        more = it != ordered_.end() && it->starts_with(prefix);
    }
    return erased;
}

void DiskCache::note_failure(const std::string& what, bool pause_writes) {
    const auto errors = errors_.fetch_add(1, std::memory_order_relaxed) + 1;
    const auto now = steady_ms();
    if (pause_writes) {
        // A disk that failed once will likely fail again: stop trying for a while.
        paused_until_ms_.store(now + PAUSE_AFTER_FAILURE_MS);
    }
    // One line per period, so a dead disk does not flood the log.
    auto next_log = next_log_ms_.load();
    if (now < next_log || !next_log_ms_.compare_exchange_strong(next_log, now + LOG_EVERY_MS)) {
        return;
    }
    const auto previous = errors_logged_.exchange(errors);
    spdlog::warn("disk cache: {} ({} failures since the last report; the tier is bypassed while "
                 "it fails)",
                 what, errors - previous);
}

bool DiskCache::writes_paused() const { return steady_ms() < paused_until_ms_.load(); }

bool DiskCache::healthy() const { return !writes_paused(); }

std::uint64_t DiskCache::size_bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

std::size_t DiskCache::entries() const {
    std::lock_guard lock(mutex_);
    return lru_.size();
}

} // namespace cdn::cache
