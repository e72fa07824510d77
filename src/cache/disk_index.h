#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct XXH3_state_s; // xxhash.h

namespace cdn::cache::disk_index {

/**
 * The disk tier's index saved at a clean shutdown (`{dir}/index`), so that the next start reads
 * one file instead of opening every variant file: with a million entries a scan takes tens of
 * seconds on a cold page cache, the saved index about one.
 *
 * It holds the entries (key, file size, LRU rank) in key order, so that open() builds both the
 * ordered index (for prefix purges) and the LRU list in time linear in the entries, and the
 * mtime of each of the 256 subdirectories when it was written. take() deletes the file as it
 * reads it, so an index never outlives the run that read it: a crash leaves none, and the next
 * start scans. A subdirectory whose mtime changed since (any file created, renamed or deleted in
 * it, e.g. by an older build that ignores the index) is not trusted: its entries are dropped
 * and the caller scans that subdirectory alone.
 *
 * Layout (host byte order, as the directory is local to the machine): magic, version, the 256
 * mtimes (nanoseconds, -1 for a missing subdirectory), then per entry its size, LRU rank (0 =
 * most recently used), key length and key, then the entry count, then XXH3-64 of everything before it.
 */
inline constexpr std::string_view FILE_NAME = "index";
inline constexpr std::size_t SUBDIRS = 256;

using Mtimes = std::array<std::int64_t, SUBDIRS>;

struct Saved {
    std::string key;
    std::uint64_t bytes = 0;
};

/** What take() found: the entries of the trusted subdirectories. */
struct Loaded {
    /** In key order. */
    std::vector<Saved> entries;
    /** Positions in `entries`, most recently used first. */
    std::vector<std::size_t> lru_order;
    /** Subdirectories (by the value of their two hex digits) to scan instead. */
    std::vector<std::size_t> untrusted;
};

/** Which of the 256 subdirectories a key's file lives in. */
std::size_t subdir_of(std::string_view key);

/** The subdirectories' current mtimes. */
Mtimes subdir_mtimes(const std::filesystem::path& dir);

/** Writes the index, through a temporary file renamed into place by commit(). Any failure
 *  makes commit() return false (the next start then scans). */
class Writer {
public:
    /** Records the subdirectories' mtimes now: nothing may change the directory meanwhile.
     *  `untrusted`: subdirectories the next start must scan whatever their mtime (the index
     *  does not hold all of their files). */
    explicit Writer(const std::filesystem::path& dir,
                    const std::vector<std::size_t>& untrusted = {});
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    /** The next entry, in key order; `rank`: its place in the LRU order, 0 for the most
     *  recently used. */
    void add(std::string_view key, std::uint64_t bytes, std::uint64_t rank);
    bool commit();

private:
    void append(const void* data, std::size_t size);
    bool flush();

    std::filesystem::path dir_;
    std::string temp_;
    int fd_ = -1;
    bool failed_ = false;
    std::uint64_t count_ = 0;
    std::string buffer_;
    ::XXH3_state_s* hash_;
};

/** Reads and deletes the saved index; nullopt when there is none or it is damaged. */
std::optional<Loaded> take(const std::filesystem::path& dir);

} // namespace cdn::cache::disk_index
