#pragma once

#include <sys/types.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

// What the test servers run as children (postgres_process, redis_process) share.

namespace cdn::test {

/** A port that was free a moment ago (the kernel's pick); a race is retried by the caller. */
int free_loopback_port();

/** A fresh folder `$TMPDIR/<name>-XXXXXX` (or under /tmp). */
std::filesystem::path make_temp_folder(const std::string& name);

/**
 * A shell that waits for EOF on a pipe only this process writes, which comes when this process
 * ends however it ends (a crash, ctest killing it at its timeout): then it runs `script` with
 * `$1` = `folder`, which stops the server and removes the folder, so no server outlives its
 * tests. exec'd at once after fork: nothing unsafe runs in the child of a threaded process.
 * close_watchdog() ends it without the script doing anything left to do.
 */
class Watchdog {
public:
    Watchdog(const char* script, const std::filesystem::path& folder);
    ~Watchdog() { close(); }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;
    void close();

private:
    int fd_ = -1;
    pid_t pid_ = 0;
};

/** One server of type T for the whole test binary: started on first use, stopped by a
 *  GoogleTest environment when the tests end (before static destruction). */
template <class T> class SharedServer {
public:
    static T& get() {
        std::lock_guard lock(mutex());
        if (!instance()) {
            instance() = std::make_unique<T>();
            [[maybe_unused]] static const auto* const registered =
                ::testing::AddGlobalTestEnvironment(new Stop);
        }
        return *instance();
    }

private:
    class Stop : public ::testing::Environment {
    public:
        void TearDown() override {
            std::lock_guard lock(mutex());
            instance().reset();
        }
    };
    static std::unique_ptr<T>& instance() {
        static std::unique_ptr<T> server;
        return server;
    }
    static std::mutex& mutex() {
        static std::mutex m;
        return m;
    }
};

} // namespace cdn::test
