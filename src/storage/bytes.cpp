#include "storage/bytes.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace cdn::storage {

namespace {

constexpr std::size_t HUGE_PAGE = std::size_t{2} << 20;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

/** `length` bytes (a multiple of HUGE_PAGE) mapped at a HUGE_PAGE boundary, huge pages asked. */
char* map_aligned(std::size_t length) {
    void* raw = ::mmap(nullptr, length + HUGE_PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        throw std::bad_alloc();
    }
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const auto aligned = round_up(start, HUGE_PAGE);
    // The unaligned ends are given back at once: the region is then exactly [aligned, +length).
    if (aligned > start) {
        ::munmap(raw, aligned - start);
    }
    if (const auto tail = start + HUGE_PAGE - aligned; tail > 0) {
        ::munmap(reinterpret_cast<char*>(aligned + length), tail);
    }
    auto* region = reinterpret_cast<char*>(aligned);
    ::madvise(region, length, MADV_HUGEPAGE);
    return region;
}

/**
 * Read buffers kept between reads, their pages faulted in. jemalloc gives every freed buffer
 * over 8 MB (and smaller ones after a few seconds) back to the kernel, so each miss faulted a
 * whole original's pages in again: 6,600 pages and 14 ms of CPU for the 27 MB PNG (measured).
 * A kept buffer costs only the read's copy. A mapping of the file itself would not even cost
 * that, but a file truncated under the mapping kills the process (SIGBUS).
 */
class ReadBuffers {
public:
    struct Region {
        char* base;
        std::size_t length;
    };

    Region take(std::size_t size) {
        const auto length = round_up(size, HUGE_PAGE);
        {
            const std::lock_guard lock(mutex_);
            // The smallest kept buffer that fits.
            auto best = free_.end();
            for (auto it = free_.begin(); it != free_.end(); ++it) {
                if (it->length >= length && (best == free_.end() || it->length < best->length)) {
                    best = it;
                }
            }
            if (best != free_.end()) {
                const Region region = *best;
                free_.erase(best);
                kept_ -= region.length;
                return region;
            }
        }
        return {map_aligned(length), length};
    }

    void give_back(Region region) {
        {
            const std::lock_guard lock(mutex_);
            if (free_.size() < Bytes::KEPT_BUFFERS && kept_ + region.length <= Bytes::KEPT_BYTES) {
                free_.push_back(region);
                kept_ += region.length;
                return;
            }
        }
        ::munmap(region.base, region.length);
    }

    void drop() {
        const std::lock_guard lock(mutex_);
        for (const auto& region : free_) {
            ::munmap(region.base, region.length);
        }
        free_.clear();
        kept_ = 0;
    }

    std::size_t kept() {
        const std::lock_guard lock(mutex_);
        return kept_;
    }

private:
    std::mutex mutex_;
    std::vector<Region> free_;
    std::size_t kept_ = 0;
};

ReadBuffers& read_buffers() {
    static ReadBuffers* const buffers = new ReadBuffers(); // never destroyed: used until exit
    return *buffers;
}

} // namespace

void Bytes::GiveBack::operator()(char* region) const { read_buffers().give_back({region, length}); }

std::size_t Bytes::kept_bytes() { return read_buffers().kept(); }

void Bytes::drop_kept() { read_buffers().drop(); }

Bytes Bytes::for_overwrite(std::size_t size) {
    Buffer buffer;
    buffer.size = size;
    if (size < POOLED_BYTES) {
        buffer.heap = std::make_unique_for_overwrite<char[]>(size);
        buffer.begin = buffer.heap.get();
    } else {
        const auto region = read_buffers().take(size);
        buffer.pooled = std::unique_ptr<char, GiveBack>(region.base, GiveBack{region.length});
        buffer.begin = region.base;
    }
    Bytes bytes;
    bytes.storage_ = std::move(buffer);
    return bytes;
}

std::string_view Bytes::view() const {
    if (const auto* text = std::get_if<std::string>(&storage_)) {
        return *text;
    }
    const auto& buffer = std::get<Buffer>(storage_);
    return {buffer.begin, buffer.size};
}

std::string Bytes::take() && {
    if (auto* text = std::get_if<std::string>(&storage_)) {
        return std::move(*text);
    }
    return std::string(view());
}

} // namespace cdn::storage
