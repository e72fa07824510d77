// CPU per read of one original, as a miss reads it: the read before issue 20's stop 28 (a
// zero-filled std::string, pread, XXH3-128 of the bytes) against LocalBlobStore::get now, the
// two alternating, in one process linked with jemalloc as the server is. See original_read.sh.
#include <sys/resource.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/hash.h"
#include "storage/local_blob_store.h"

namespace {

double cpu_ms() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 +
           (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}

std::size_t read_before(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    ::fstat(fd, &st);
    std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
    for (std::size_t done = 0; done < bytes.size();) {
        const auto n = ::pread(fd, bytes.data() + done, bytes.size() - done, done);
        if (n <= 0) {
            std::abort();
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return cdn::core::hash128_hex(bytes).size() + bytes.size();
}

} // namespace

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / ("original-read-" + std::to_string(getpid()));
    auto store = cdn::storage::LocalBlobStore::create(root).value();
    const int rounds = 5, reads = 40;
    for (int i = 1; i < argc; ++i) {
        const std::string key = "pk_bench/" + fs::path(argv[i]).filename().string();
        fs::create_directories(root / "pk_bench");
        fs::copy_file(argv[i], root / key, fs::copy_options::overwrite_existing);
        double before = 0, after = 0;
        for (int round = 0; round < rounds; ++round) {
            auto t = cpu_ms();
            for (int r = 0; r < reads; ++r) {
                read_before((root / key).string());
            }
            before += cpu_ms() - t;
            t = cpu_ms();
            for (int r = 0; r < reads; ++r) {
                if (!store->get(key)) {
                    std::abort();
                }
            }
            after += cpu_ms() - t;
        }
        std::printf("%s (%ju bytes): before %.2f ms/read, now %.2f ms/read\n", argv[i],
                    static_cast<std::uintmax_t>(fs::file_size(argv[i])),
                    before / (rounds * reads), after / (rounds * reads));
    }
    fs::remove_all(root);
}
