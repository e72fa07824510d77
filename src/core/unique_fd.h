#pragma once

#include <unistd.h>

#include <utility>

namespace cdn::core {

/** Owns a POSIX file descriptor and closes it when it goes out of scope. */
class UniqueFd {
public:
    explicit UniqueFd(int fd = -1) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    /** Gives up ownership without closing. */
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

} // namespace cdn::core
