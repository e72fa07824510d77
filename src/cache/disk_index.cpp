#include "cache/disk_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <cstring>

#include "core/hash.h"
#include "core/random.h"
#include "core/unique_fd.h"

namespace cdn::cache::disk_index {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t MAGIC = 0x58444349; // "ICDX" in little-endian order
constexpr std::uint32_t VERSION = 1;
constexpr std::size_t FLUSH_AT = 1 << 20;
constexpr std::int64_t NEVER_TRUSTED = -2;
// Keys are short (the disk tier refuses longer ones); a longer length is a damaged file.
constexpr std::uint32_t MAX_KEY = 64 * 1024;

std::string subdir_name(std::size_t subdir) {
    char name[3];
    std::snprintf(name, sizeof(name), "%02zx", subdir);
    return name;
}

/** Reads the fixed-size values of a saved index front to back; fails once past its end. */
class Reader {
public:
    explicit Reader(std::string_view data) : rest_(data) {}
    template <class T> bool read(T& out) {
        if (rest_.size() < sizeof(T)) {
            return false;
        }
        std::memcpy(&out, rest_.data(), sizeof(T));
        rest_.remove_prefix(sizeof(T));
        return true;
    }
    bool read(std::string& out, std::size_t size) {
        if (rest_.size() < size) {
            return false;
        }
        out.assign(rest_.substr(0, size));
        rest_.remove_prefix(size);
        return true;
    }
    std::size_t left() const { return rest_.size(); }

private:
    std::string_view rest_;
};

std::optional<std::string> read_and_delete(const fs::path& path) {
    const core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
        return std::nullopt;
    }
    // Gone before it is used: a crash from here on leaves no index that could be out of date.
    ::unlink(path.c_str());
    std::string data(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < data.size()) {
        const auto n = ::read(fd.get(), data.data() + done, data.size() - done);
        if (n <= 0) {
            return std::nullopt;
        }
        done += static_cast<std::size_t>(n);
    }
    return data;
}

/** The entries and the count that end a saved index (its hash already checked and cut off),
 *  keeping those of trusted subdirectories, with their LRU ranks in `ranks`. */
bool parse_entries(Reader& in, const std::vector<bool>& trusted, Loaded& loaded,
                   std::vector<std::uint64_t>& ranks) {
    // The usual case after a clean stop; it saves hashing every key.
    const bool all_trusted = loaded.untrusted.empty();
    std::uint64_t count = 0;
    while (in.left() > sizeof(std::uint64_t)) {
        Saved entry;
        std::uint64_t rank = 0;
        std::uint32_t key_size = 0;
        if (!in.read(entry.bytes) || !in.read(rank) || !in.read(key_size) || key_size > MAX_KEY ||
            !in.read(entry.key, key_size)) {
            return false;
        }
        ++count;
        if (all_trusted || trusted[subdir_of(entry.key)]) {
            loaded.entries.push_back(std::move(entry));
            ranks.push_back(rank);
        }
    }
    std::uint64_t saved_count = 0;
    return in.read(saved_count) && saved_count == count;
}

/** Fills loaded.lru_order from the ranks (each below `count`, none twice, gaps allowed where
 *  entries were left out): O(n), no sort. False for ranks that cannot be. */
bool order_by_rank(const std::vector<std::uint64_t>& ranks, std::size_t count, Loaded& loaded) {
    constexpr auto NONE = static_cast<std::size_t>(-1);
    std::vector<std::size_t> at_rank(count, NONE);
    for (std::size_t i = 0; i < ranks.size(); ++i) {
        if (ranks[i] >= count || at_rank[ranks[i]] != NONE) {
            return false;
        }
        at_rank[ranks[i]] = i;
    }
    loaded.lru_order.reserve(ranks.size());
    for (const auto i : at_rank) {
        if (i != NONE) {
            loaded.lru_order.push_back(i);
        }
    }
    return true;
}

} // namespace

std::size_t subdir_of(std::string_view key) {
    return std::stoul(core::hash128_hex(key).substr(0, 2), nullptr, 16);
}

Mtimes subdir_mtimes(const fs::path& dir) {
    Mtimes mtimes{};
    for (std::size_t i = 0; i < SUBDIRS; ++i) {
        struct stat st {};
        mtimes[i] = ::lstat((dir / subdir_name(i)).c_str(), &st) == 0 && S_ISDIR(st.st_mode)
                        ? std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec
                        : -1;
    }
    return mtimes;
}

Writer::Writer(const fs::path& dir, const std::vector<std::size_t>& untrusted)
    : dir_(dir), temp_((dir / (".tmp-index-" + core::random_hex(8))).string()),
      fd_(::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)),
      failed_(fd_ < 0), hash_(XXH3_createState()) {
    XXH3_64bits_reset(hash_);
    auto mtimes = subdir_mtimes(dir);
    for (const auto i : untrusted) {
        mtimes[i] = NEVER_TRUSTED; // no subdirectory has this mtime
    }
    append(&MAGIC, sizeof(MAGIC));
    append(&VERSION, sizeof(VERSION));
    append(mtimes.data(), sizeof(mtimes));
}

Writer::~Writer() {
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(temp_.c_str());
    }
    XXH3_freeState(hash_);
}

void Writer::add(std::string_view key, std::uint64_t bytes, std::uint64_t rank) {
    const auto key_size = static_cast<std::uint32_t>(key.size());
    append(&bytes, sizeof(bytes));
    append(&rank, sizeof(rank));
    append(&key_size, sizeof(key_size));
    append(key.data(), key.size());
    ++count_;
}

void Writer::append(const void* data, std::size_t size) {
    buffer_.append(static_cast<const char*>(data), size);
    XXH3_64bits_update(hash_, data, size);
    if (buffer_.size() >= FLUSH_AT) {
        flush();
    }
}

bool Writer::flush() {
    std::string_view rest = buffer_;
    while (!failed_ && !rest.empty()) {
        const auto n = ::write(fd_, rest.data(), rest.size());
        failed_ = n <= 0;
        rest.remove_prefix(failed_ ? rest.size() : static_cast<std::size_t>(n));
    }
    buffer_.clear();
    return !failed_;
}

bool Writer::commit() {
    append(&count_, sizeof(count_));
    const std::uint64_t hash = XXH3_64bits_digest(hash_);
    buffer_.append(reinterpret_cast<const char*>(&hash), sizeof(hash));
    const bool written = flush() && ::close(std::exchange(fd_, -1)) == 0;
    if (!written || ::rename(temp_.c_str(), (dir_ / FILE_NAME).c_str()) != 0) {
        ::unlink(temp_.c_str());
        return false;
    }
    return true;
}

std::optional<Loaded> take(const fs::path& dir) {
    const auto data = read_and_delete(dir / FILE_NAME);
    if (!data || data->size() < 2 * sizeof(std::uint64_t)) {
        return std::nullopt;
    }
    const std::string_view body(data->data(), data->size() - sizeof(std::uint64_t));
    std::uint64_t hash = 0;
    std::memcpy(&hash, data->data() + body.size(), sizeof(hash));
    Reader in(body);
    std::uint32_t magic = 0;
    std::uint32_t version = 0;
    Mtimes saved{};
    if (XXH3_64bits(body.data(), body.size()) != hash || !in.read(magic) || !in.read(version) ||
        magic != MAGIC || version != VERSION || !in.read(saved)) {
        return std::nullopt;
    }
    const auto now = subdir_mtimes(dir);
    Loaded loaded;
    std::vector<bool> trusted(SUBDIRS);
    for (std::size_t i = 0; i < SUBDIRS; ++i) {
        trusted[i] = saved[i] == now[i];
        if (!trusted[i]) {
            loaded.untrusted.push_back(i);
        }
    }
    std::vector<std::uint64_t> ranks;
    const auto count_at = data->size() - 2 * sizeof(std::uint64_t);
    std::uint64_t count = 0;
    std::memcpy(&count, data->data() + count_at, sizeof(count));
    if (!parse_entries(in, trusted, loaded, ranks) || !order_by_rank(ranks, count, loaded)) {
        return std::nullopt;
    }
    return loaded;
}

} // namespace cdn::cache::disk_index
