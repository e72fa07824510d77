#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace cdn::storage {

/**
 * An object's bytes as a store read them: either a string (what curl filled for the S3 store) or
 * a buffer allocated for exactly one read and never zero-filled (the local store). An original
 * is read on every miss (6–30 MB), so neither filling the buffer first nor copying it out again
 * is free; transform::transform_image reads the buffer where it is.
 */
class Bytes {
public:
    Bytes() = default;
    // Implicit: a store or a test hands over a string as it is.
    Bytes(std::string bytes) : storage_(std::move(bytes)) {} // NOLINT(google-explicit-constructor)

    /** `size` bytes of uninitialised memory for a read to fill: from the allocator below
     *  LARGE_BYTES, else a mapping of its own with transparent huge pages asked for (see
     *  bytes.cpp for why). */
    static Bytes for_overwrite(std::size_t size);

    char* data() { return const_cast<char*>(view().data()); } // NOLINT: the buffer is ours
    std::size_t size() const { return view().size(); }
    bool empty() const { return size() == 0; }
    std::string_view view() const;
    operator std::string_view() const { return view(); } // NOLINT(google-explicit-constructor)

    /** The bytes as a string: moved out when they are one, else copied once. */
    std::string take() &&;

    friend bool operator==(const Bytes& a, std::string_view b) { return a.view() == b; }

    /** Buffers at least this large get a mapping of their own (jemalloc's oversize
     *  threshold: above it freed memory goes back to the kernel at once). */
    static constexpr std::size_t LARGE_BYTES = std::size_t{8} << 20;

private:
    struct Unmap {
        std::size_t length; // NOLINT: set where the mapping is made
        void operator()(char* region) const;
    };
    struct Buffer {
        std::unique_ptr<char[]> heap;
        std::unique_ptr<char, Unmap> mapped;
        char* begin = nullptr;
        std::size_t size = 0;
    };
    std::variant<std::string, Buffer> storage_;
};

} // namespace cdn::storage
