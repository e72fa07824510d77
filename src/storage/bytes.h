#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace cdn::storage {

/**
 * An object's bytes as a store read them: either a string (what curl filled for the S3 store) or
 * a buffer for one read that is never zero-filled (the local store). An original is read on every
 * miss (6–30 MB), so neither filling the buffer first nor faulting fresh pages in for it is free;
 * transform::transform_image reads the buffer where it is.
 */
class Bytes {
public:
    Bytes() = default;
    // Implicit: a store or a test hands over a string as it is.
    Bytes(std::string bytes) : storage_(std::move(bytes)) {} // NOLINT(google-explicit-constructor)

    /** `size` bytes of uninitialised memory for a read to fill: from the allocator below
     *  POOLED_BYTES, else a reused buffer of huge pages (see bytes.cpp for why). */
    static Bytes for_overwrite(std::size_t size);

    char* data() { return const_cast<char*>(view().data()); } // NOLINT: the buffer is ours
    std::size_t size() const { return view().size(); }
    bool empty() const { return size() == 0; }
    std::string_view view() const;
    operator std::string_view() const { return view(); } // NOLINT(google-explicit-constructor)

    /** The bytes as a string: moved out when they are one, else copied once. */
    std::string take() &&;

    friend bool operator==(const Bytes& a, std::string_view b) { return a.view() == b; }

    /** Buffers at least this large come from the pool of read buffers. */
    static constexpr std::size_t POOLED_BYTES = std::size_t{1} << 20;
    /** The pool keeps at most this many free buffers, of at most KEPT_BYTES in all, between
     *  reads; the others go back to the kernel. */
    static constexpr std::size_t KEPT_BUFFERS = 4;
    static constexpr std::size_t KEPT_BYTES = std::size_t{64} << 20;
    /** Bytes the pool keeps now (tests). */
    static std::size_t kept_bytes();
    /** Gives every kept buffer back to the kernel (tests). */
    static void drop_kept();

private:
    struct GiveBack {
        std::size_t length; // NOLINT: set where the buffer is taken
        void operator()(char* region) const;
    };
    struct Buffer {
        std::unique_ptr<char[]> heap;
        std::unique_ptr<char, GiveBack> pooled;
        char* begin = nullptr;
        std::size_t size = 0;
    };
    std::variant<std::string, Buffer> storage_;
};

} // namespace cdn::storage
