// 1,000 path purges of one customer while both cache tiers hold 100k variants (20 customers ×
// 1,000 paths × 5 variants), with another customer's hits running meanwhile: the purges' wall
// time and the slowest of those hits, memory tier and disk tier. Run by bench/micro/purge.sh,
// which builds it against the cache sources of this tree and, for comparison, of another
// commit (the full-scan purge before issue 13).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cache/cache_key.h"
#include "cache/purge.h"
#include "cache/tiered_cache.h"

namespace {

using namespace cdn::cache;
using Clock = std::chrono::steady_clock;

constexpr int CUSTOMERS = 20;
constexpr int PATHS = 1000;
constexpr int VARIANTS = 5;

std::string public_key(int customer) { return "pk_bench" + std::to_string(customer); }
std::string path(int i) { return "products/p" + std::to_string(i) + ".png"; }
std::string options(int v) { return "w=" + std::to_string(100 * (v + 1)); }

VariantPtr variant(std::string key) {
    auto v = std::make_shared<CachedVariant>();
    v->key = std::move(key);
    v->content_type = "image/webp";
    v->etag = "\"0123456789abcdef0123456789abcdef\"";
    v->body = std::string(64, 'x');
    return v;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

/** Hits `key` through `get` until told to stop; the slowest hit. */
struct Hitter {
    std::atomic<bool> stop{false};
    Clock::duration slowest{};
    long hits = 0;
    std::thread thread;

    template <class Get> void start(Get get) {
        thread = std::thread([this, get] {
            while (!stop.load()) {
                const auto started = Clock::now();
                get();
                slowest = std::max(slowest, Clock::now() - started);
                ++hits;
            }
        });
    }
    void finish() {
        stop = true;
        thread.join();
    }
};

} // namespace

int main(int argc, char** argv) {
    const std::filesystem::path dir = argc > 1 ? argv[1] : "/tmp/imagecdn-purge-bench";
    std::filesystem::remove_all(dir);
    MemoryCache memory(std::size_t{2} << 30);
    auto disk = DiskCache::open(dir, std::uint64_t{2} << 30);
    if (!disk) {
        std::fprintf(stderr, "cannot open %s\n", dir.c_str());
        return 1;
    }
    TieredCache cache(memory, disk->get());
    for (int c = 0; c < CUSTOMERS; ++c) {
        for (int p = 0; p < PATHS; ++p) {
            for (int v = 0; v < VARIANTS; ++v) {
                cache.put(variant(make_cache_key(public_key(c), path(p), options(v))));
            }
        }
    }
    const auto other_key = make_cache_key(public_key(1), path(7), options(0));
    Hitter memory_hits;
    Hitter disk_hits;
    memory_hits.start([&] { return memory.get(other_key); });
    disk_hits.start([&] { return (*disk)->get(other_key); });

    PurgeRequest purge{.public_key = public_key(0)};
    for (int p = 0; p < PATHS; ++p) {
        purge.paths.push_back(path(p));
    }
    const auto started = Clock::now();
    const auto dropped = apply_purge(cache, purge);
    const auto took = Clock::now() - started;
    memory_hits.finish();
    disk_hits.finish();

    std::printf("entries before: %d; 1000 path purges dropped %zu in %.1f ms; another "
                "customer's slowest hit meanwhile: memory %.2f ms (%ld hits), disk %.2f ms "
                "(%ld hits)\n",
                CUSTOMERS * PATHS * VARIANTS, dropped, ms(took), ms(memory_hits.slowest),
                memory_hits.hits, ms(disk_hits.slowest), disk_hits.hits);
    disk->reset();
    std::filesystem::remove_all(dir);
    return 0;
}
