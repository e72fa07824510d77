#include "cache/disk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

#include "core/hash.h"
#include "core/random.h"

namespace cdn::cache {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view MAGIC = "ICDNv1\n";
constexpr auto PAUSE_AFTER_FAILURE = std::chrono::seconds(5);
constexpr std::uint32_t MAX_FIELD = 64 * 1024;

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

template <class T>
void append_pod(std::string& out, T value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

void append_field(std::string& out, std::string_view field) {
    append_pod(out, static_cast<std::uint32_t>(field.size()));
    out.append(field);
}

/** The file's header: everything but the body, which follows it. */
std::string encode_header(const CachedVariant& v) {
    std::string out(MAGIC);
    append_field(out, v.key);
    append_field(out, v.content_type);
    append_field(out, v.etag);
    append_pod(out, v.last_modified);
    append_pod(out, v.stored_at);
    append_pod(out, static_cast<std::uint32_t>(v.status));
    append_pod(out, static_cast<std::uint64_t>(v.body.size()));
    return out;
}

/** Reads fields in order from a file's bytes; any overrun marks it corrupt. */
class Reader {
public:
    explicit Reader(std::string_view data) : data_(data) {}
    bool ok() const { return ok_; }
    std::string_view rest() const { return data_; }

    template <class T>
    T pod() {
        T value{};
        if (data_.size() < sizeof(T)) {
            ok_ = false;
            return value;
        }
        std::memcpy(&value, data_.data(), sizeof(T));
        data_.remove_prefix(sizeof(T));
        return value;
    }
    std::string field() {
        const auto size = pod<std::uint32_t>();
        if (!ok_ || size > MAX_FIELD || size > data_.size()) {
            ok_ = false;
            return {};
        }
        std::string out(data_.substr(0, size));
        data_.remove_prefix(size);
        return out;
    }

private:
    std::string_view data_;
    bool ok_ = true;
};

std::shared_ptr<CachedVariant> decode(std::string_view data) {
    if (!data.starts_with(MAGIC)) {
        return nullptr;
    }
    Reader r(data.substr(MAGIC.size()));
    auto v = std::make_shared<CachedVariant>();
    v->key = r.field();
    v->content_type = r.field();
    v->etag = r.field();
    v->last_modified = r.pod<std::int64_t>();
    v->stored_at = r.pod<std::int64_t>();
    v->status = r.pod<std::uint32_t>();
    const auto body_size = r.pod<std::uint64_t>();
    if (!r.ok() || r.rest().size() != body_size) {
        return nullptr;
    }
    v->body = std::string(r.rest());
    return v;
}

bool read_file(const fs::path& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return false;
    }
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return !in.bad();
}

/** Just the key, from the start of a file: start-up reads no bodies. */
std::optional<std::string> read_key(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    char head[MAGIC.size() + sizeof(std::uint32_t)];
    if (!in.read(head, sizeof(head)) || std::string_view(head, MAGIC.size()) != MAGIC) {
        return std::nullopt;
    }
    std::uint32_t size = 0;
    std::memcpy(&size, head + MAGIC.size(), sizeof(size));
    if (size > MAX_FIELD) {
        return std::nullopt;
    }
    std::string key(size, '\0');
    if (!in.read(key.data(), size)) {
        return std::nullopt;
    }
    return key;
}

bool write_atomically(const fs::path& path, std::string_view header, std::string_view body) {
    const auto temp = path.parent_path() / (".tmp-" + core::random_hex(8));
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        return false;
    }
    bool ok = true;
    for (auto part : {header, body}) {
        while (ok && !part.empty()) {
            const auto n = ::write(fd, part.data(), part.size());
            ok = n > 0;
            part.remove_prefix(ok ? static_cast<std::size_t>(n) : part.size());
        }
    }
    ok = ::close(fd) == 0 && ok;
    if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
        ::unlink(temp.c_str());
        return false;
    }
    return true;
}

} // namespace

DiskCache::DiskCache(fs::path dir, std::uint64_t capacity_bytes)
    : dir_(std::move(dir)), capacity_(capacity_bytes) {}

core::Result<std::unique_ptr<DiskCache>> DiskCache::open(const fs::path& dir,
                                                         std::uint64_t capacity_bytes) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir) || ::access(dir.c_str(), W_OK | X_OK) != 0) {
        return core::make_error(core::Errc::Unavailable, "the disk cache directory is unusable",
                                dir.string() + (ec ? ": " + ec.message() : ""));
    }
    auto cache = std::unique_ptr<DiskCache>(new DiskCache(dir, capacity_bytes));
    cache->load_index();
    return cache;
}

void DiskCache::load_index() {
    struct Found {
        Entry entry;
        fs::file_time_type used;
    };
    std::vector<Found> found;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) {
            continue;
        }
        const auto& path = it->path();
        auto key = read_key(path);
        if (!key || path.filename().string().starts_with(".tmp-") || file_for(*key) != path) {
            fs::remove(path, ec); // corrupt, unfinished, or not where its key says
            ec.clear();
            continue;
        }
        found.push_back(Found{Entry{std::move(*key), path.string(), it->file_size(ec)},
                              it->last_write_time(ec)});
    }
    // Most recently used first; the mtime is touched on every hit.
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.used > b.used; });
    for (auto& f : found) {
        lru_.push_back(std::move(f.entry));
        index_.emplace(lru_.back().key, std::prev(lru_.end()));
        bytes_ += lru_.back().bytes;
    }
    evict_over_capacity();
    spdlog::info("disk cache: {} entries, {} bytes in {}", lru_.size(), bytes_, dir_.string());
}

fs::path DiskCache::file_for(std::string_view key) const {
    const auto hash = core::hash128_hex(key);
    return dir_ / hash.substr(0, 2) / hash;
}

VariantPtr DiskCache::get(std::string_view key) {
    std::string file;
    {
        std::lock_guard lock(mutex_);
        const auto it = index_.find(key);
        if (it == index_.end()) {
            return nullptr;
        }
        lru_.splice(lru_.begin(), lru_, it->second);
        file = it->second->file;
    }
    std::string data;
    auto variant = read_file(file, data) ? decode(data) : nullptr;
    if (!variant || variant->key != key) {
        fail("unreadable cache file " + file, false);
        std::lock_guard lock(mutex_);
        if (const auto it = index_.find(key); it != index_.end()) {
            forget(it->second, true);
        }
        return nullptr;
    }
    ::utimensat(AT_FDCWD, file.c_str(), nullptr, 0); // keeps the LRU order across restarts
    return variant;
}

void DiskCache::put(const CachedVariant& variant) {
    if (writes_paused()) {
        return;
    }
    const auto path = file_for(variant.key);
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    const auto header = encode_header(variant);
    if (ec || !write_atomically(path, header, variant.body)) {
        fail("cannot write " + path.string(), true);
        return;
    }
    std::lock_guard lock(mutex_);
    record(Entry{variant.key, path.string(), header.size() + variant.body.size()});
    evict_over_capacity();
}

void DiskCache::record(Entry entry) {
    if (const auto it = index_.find(entry.key); it != index_.end()) {
        forget(it->second, false);
    }
    bytes_ += entry.bytes;
    lru_.push_front(std::move(entry));
    index_.emplace(lru_.front().key, lru_.begin());
}

void DiskCache::forget(Lru::iterator it, bool unlink_file) {
    if (unlink_file) {
        ::unlink(it->file.c_str());
    }
    bytes_ -= it->bytes;
    index_.erase(it->key);
    lru_.erase(it);
}

void DiskCache::evict_over_capacity() {
    while (bytes_ > capacity_ && !lru_.empty()) {
        forget(std::prev(lru_.end()), true);
    }
}

std::size_t DiskCache::erase_prefix(std::string_view prefix) {
    std::lock_guard lock(mutex_);
    std::size_t erased = 0;
    for (auto it = lru_.begin(); it != lru_.end();) {
        const auto next = std::next(it);
        if (it->key.starts_with(prefix)) {
            forget(it, true);
            ++erased;
        }
        it = next;
    }
    return erased;
}

void DiskCache::fail(const std::string& what, bool pause_writes) {
    const auto errors = errors_.fetch_add(1) + 1;
    if (!pause_writes) {
        spdlog::warn("disk cache: {} (dropped)", what);
        return;
    }
    // A disk that failed once will likely fail again: stop trying for a while, log once.
    const auto now = steady_ms();
    const auto was_paused = paused_until_ms_.exchange(
        now + std::chrono::duration_cast<std::chrono::milliseconds>(PAUSE_AFTER_FAILURE).count());
    if (was_paused < now) {
        spdlog::warn("disk cache: {} ({} errors so far); writes paused for 5 s", what, errors);
    }
}

bool DiskCache::writes_paused() const { return steady_ms() < paused_until_ms_.load(); }

std::uint64_t DiskCache::size_bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

std::size_t DiskCache::entries() const {
    std::lock_guard lock(mutex_);
    return lru_.size();
}

} // namespace cdn::cache
