// Cost as work grows (issue 20, item 5): one measurement per call, one line of `key=value`
// figures on stdout, read by bench/scale/scale.sh, which runs each at three sizes.
//
//   scale_bench memory N            memory-tier index bytes per entry (and the variant's own
//                                   bytes, against what the tier charges), insert, get time
//   scale_bench disk-build N DIR    writes N small variants into a disk-tier folder (untimed)
//   scale_bench disk-open DIR [background]
//                                   opens that folder: start-up time (and, with `background`,
//                                   until the background scan is done), index bytes per entry
//   scale_bench directory N DB      N customers in SQLite, all loaded into the edge's directory
//   scale_bench purge N DIR         purges of one path and of a prefix, both tiers holding N
//
// Memory is jemalloc's stats.allocated (the allocator imagecdn runs with) before and after:
// the bytes the structure under test allocated, excluding the variants' own bytes.
#include <jemalloc/jemalloc.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include "cache/cache_key.h"
#include "cache/disk_cache.h"
#include "cache/memory_cache.h"
#include "cache/purge.h"
#include "cache/tiered_cache.h"
#include "core/clock.h"
#include "db/customer_repository.h"
#include "db/migrations.h"
#include "db/preset_repository.h"
#include "db/sqlite_database.h"
#include "edge/customer_directory.h"

namespace {

using namespace cdn;
using Clock = std::chrono::steady_clock;

// Keys as production makes them: 20 customers, paths in folders of 100, 5 variants a path.
constexpr std::size_t CUSTOMERS = 20;
constexpr std::size_t VARIANTS = 5;
constexpr std::size_t PATHS_PER_FOLDER = 100;
constexpr std::size_t PATH_PURGES = 100;
constexpr std::size_t PREFIX_PURGES = 5;

std::size_t allocated() {
    std::uint64_t epoch = 1;
    std::size_t size = sizeof(epoch);
    mallctl("epoch", &epoch, &size, &epoch, size);
    std::size_t bytes = 0;
    size = sizeof(bytes);
    mallctl("stats.allocated", &bytes, &size, nullptr, 0);
    return bytes;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string public_key(std::size_t customer) { return "pk_scale" + std::to_string(customer); }

std::string path_of(std::size_t path) {
    return "products/d" + std::to_string(path / PATHS_PER_FOLDER) + "/p" + std::to_string(path) +
           ".jpg";
}

/** Variant `i` of `n`: customer, path and options spread so that every key is distinct. */
cache::VariantPtr variant(std::size_t i) {
    const auto per_customer = i / CUSTOMERS;
    auto v = std::make_shared<cache::CachedVariant>();
    v->key = cache::make_cache_key(public_key(i % CUSTOMERS), path_of(per_customer / VARIANTS),
                                   "w=" + std::to_string(100 * (per_customer % VARIANTS + 1)));
    v->content_type = "image/webp";
    v->etag = "\"0123456789abcdef0123456789abcdef\"";
    v->last_modified = v->stored_at = 1'700'000'000;
    v->body = std::string(64, 'x');
    return v;
}

std::vector<cache::VariantPtr> variants(std::size_t n) {
    std::vector<cache::VariantPtr> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(variant(i));
    }
    return out;
}

int memory_index(std::size_t n) {
    auto before = allocated();
    const auto all = variants(n);
    // The variants' own bytes (struct, shared_ptr block, strings), less the vector's slot.
    const auto own = double(allocated() - before) / double(n) - sizeof(cache::VariantPtr);
    before = allocated();
    cache::MemoryCache memory(std::size_t{1} << 40);
    auto start = Clock::now();
    for (const auto& v : all) {
        memory.put(v);
    }
    const auto insert_s = seconds_since(start);
    const auto index = double(allocated() - before) / double(n);
    start = Clock::now();
    std::size_t hits = 0;
    for (const auto& v : all) {
        hits += memory.get(v->key) != nullptr;
    }
    std::printf("entries=%zu index_bytes_per_entry=%.0f variant_bytes=%.0f charge=%.0f "
                "insert_ns=%.0f get_ns=%.0f hits=%zu\n",
                memory.entries(), index, own, double(memory.size_bytes()) / double(n),
                insert_s * 1e9 / double(n), seconds_since(start) * 1e9 / double(n), hits);
    return hits == n ? 0 : 1;
}

int disk_build(std::size_t n, const std::filesystem::path& dir) {
    auto disk = cache::DiskCache::open(dir, std::uint64_t{1} << 40);
    if (!disk) {
        std::fprintf(stderr, "%s\n", disk.error().detail.c_str());
        return 1;
    }
    const auto threads = std::max(2u, std::thread::hardware_concurrency());
    std::vector<std::thread> writers;
    for (unsigned t = 0; t < threads; ++t) {
        writers.emplace_back([&, t] {
            for (std::size_t i = t; i < n; i += threads) {
                (*disk)->put(*variant(i));
            }
        });
    }
    for (auto& w : writers) {
        w.join();
    }
    std::printf("entries=%zu\n", (*disk)->entries());
    return (*disk)->entries() == n ? 0 : 1;
}

int disk_open(const std::filesystem::path& dir, cache::DiskCache::Startup startup) {
    const auto before = allocated();
    const auto start = Clock::now();
    auto disk = cache::DiskCache::open(dir, std::uint64_t{1} << 40, startup);
    const auto open_s = seconds_since(start);
    if (!disk) {
        std::fprintf(stderr, "%s\n", disk.error().detail.c_str());
        return 1;
    }
    while ((*disk)->indexing()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::printf("indexed_s=%.3f ", seconds_since(start));
    const auto n = (*disk)->entries();
    const auto bytes = allocated() - before;
    // A hit proves the index serves what is on disk.
    const bool hit = n > 0 && (*disk)->get(variant(n / 2)->key) != nullptr;
    const auto close_start = Clock::now();
    disk->reset(); // saves the index for the next open
    std::printf("entries=%zu open_s=%.3f close_s=%.3f index_bytes_per_entry=%.0f hit=%d\n", n,
                open_s, seconds_since(close_start),
                double(bytes) / double(std::max<std::size_t>(n, 1)), hit);
    return hit ? 0 : 1;
}

constexpr std::pair<const char*, const char*> PRESETS[] = {
    {"thumb", "w=200&h=200&fit=cover"},
    {"hero", "w=1600&q=80&format=auto"},
};

core::Result<void> insert_customers(db::Database& db, std::size_t n) {
    return db.transaction([n](db::Database& tx) -> core::Result<void> {
        db::CustomerRepository customers(tx);
        for (std::size_t i = 0; i < n; ++i) {
            db::CustomerRecord c;
            c.id = "cus_" + std::to_string(i);
            c.public_key = public_key(i);
            c.email = c.id + "@example.com";
            c.plan = "pro";
            c.settings_json =
                R"({"allowed_domains":["shop.example.com","*.example.org"],"default_quality":80})";
            c.signing_secret = "0123456789abcdef0123456789abcdef";
            c.created_at = c.updated_at = 1'700'000'000;
            CDN_TRY_VOID(customers.insert(c));
            // Two presets each, as a typical storefront has (thumbnail, hero).
            for (const auto& [name, options] : PRESETS) {
                db::PresetRecord preset{.name = name, .options = options, .updated_at = 1};
                CDN_TRY_VOID(db::PresetRepository(tx).put(c.id, preset));
            }
        }
        return {};
    });
}

int directory(std::size_t n, const std::string& db_path) {
    std::filesystem::remove(db_path);
    auto db = db::SqliteDatabase::open(db_path);
    if (!db || !db::migrate(**db)) {
        std::fprintf(stderr, "cannot open %s\n", db_path.c_str());
        return 1;
    }
    if (auto inserted = insert_customers(**db, n); !inserted) {
        std::fprintf(stderr, "cannot insert customers: %s\n", inserted.error().detail.c_str());
        return 1;
    }
    boost::asio::thread_pool pool(1);
    core::SystemClock clock;
    edge::CustomerDirectory directory(**db, pool, clock, std::chrono::hours(1),
                                      std::chrono::seconds(5), 8192);
    const auto start = Clock::now();
    std::size_t loaded = 0;
    for (std::size_t i = 0; i < n; ++i) {
        auto customer = directory.load_by_key(public_key(i));
        if (!customer) {
            std::fprintf(stderr, "%s\n", customer.error().detail.c_str());
            return 1;
        }
        loaded += *customer != nullptr;
    }
    const auto load_s = seconds_since(start);
    std::size_t cached = 0;
    for (std::size_t i = 0; i < n; ++i) {
        cached += directory.cached_by_key(public_key(i)).has_value();
    }
    // What the directory holds, without SQLite's page cache: the bytes its clearing frees.
    const auto full = allocated();
    directory.invalidate_all();
    const auto bytes = full - allocated();
    std::printf("customers=%zu cached=%zu bytes_per_customer=%.0f load_us=%.1f\n", loaded, cached,
                double(bytes) / double(n), load_s * 1e6 / double(n));
    pool.join();
    return loaded == n ? 0 : 1;
}

/** Median seconds of `runs` calls of `purge(i)`, and what they dropped in all. */
template <class Purge> std::pair<double, std::size_t> timed(std::size_t runs, Purge purge) {
    std::vector<double> times;
    std::size_t dropped = 0;
    for (std::size_t i = 0; i < runs; ++i) {
        const auto start = Clock::now();
        dropped += purge(i);
        times.push_back(seconds_since(start));
    }
    std::sort(times.begin(), times.end());
    return {times[times.size() / 2], dropped};
}

cache::PurgeRequest prefix_purge(std::size_t customer, std::size_t folder) {
    return {.public_key = public_key(customer),
            .scope = cache::PurgeRequest::Scope::Prefix,
            .prefix = "products/d" + std::to_string(folder) + "/"};
}

/** The number of the variant of `customer` at `path`, options `option` (see variant()). */
std::size_t variant_number(std::size_t customer, std::size_t path, std::size_t option) {
    return (path * VARIANTS + option) * CUSTOMERS + customer;
}

/** Customer 0's paths purged one by one, spread over its key space. */
std::size_t purged_path(std::size_t i, std::size_t n) {
    return i * (n / CUSTOMERS / VARIANTS) / PATH_PURGES;
}

int purge(std::size_t n, const std::filesystem::path& dir) {
    auto disk = cache::DiskCache::open(dir, std::uint64_t{1} << 40);
    if (!disk || (*disk)->entries() != n) {
        std::fprintf(stderr, "%s does not hold %zu entries\n", dir.c_str(), n);
        return 1;
    }
    cache::MemoryCache memory(std::size_t{1} << 40);
    for (std::size_t i = 0; i < n; ++i) {
        memory.put(variant(i));
    }
    // Each tier alone: the memory tier shows the index lookups, the disk tier adds the unlinks.
    const auto [memory_path_s, memory_path_dropped] = timed(PATH_PURGES, [&](std::size_t i) {
        return memory.erase_prefix(cache::key_prefix_for_path(public_key(0), path_of(purged_path(i, n))));
    });
    const auto [disk_path_s, disk_path_dropped] = timed(PATH_PURGES, [&](std::size_t i) {
        return (*disk)->erase_prefix(cache::key_prefix_for_path(public_key(0), path_of(purged_path(i, n))));
    });
    // Folder d0 of customers 1..PREFIX_PURGES: 100 paths, 500 variants each, both tiers.
    cache::TieredCache tiered(memory, disk->get());
    const auto [prefix_s, prefix_dropped] = timed(PREFIX_PURGES, [&](std::size_t i) {
        return cache::apply_purge(tiered, prefix_purge(1 + i, 0));
    });
    const bool all_dropped = memory_path_dropped == PATH_PURGES * VARIANTS &&
                             disk_path_dropped == PATH_PURGES * VARIANTS &&
                             prefix_dropped == PREFIX_PURGES * VARIANTS * PATHS_PER_FOLDER;
    std::printf("variants=%zu memory_path_purge_us=%.1f disk_path_purge_us=%.1f "
                "prefix_purge_ms=%.2f dropped=%zu/%zu/%zu\n",
                n, memory_path_s * 1e6, disk_path_s * 1e6, prefix_s * 1e3, memory_path_dropped,
                disk_path_dropped, prefix_dropped);
    // Put back what went, so that the folder serves the next run.
    for (std::size_t option = 0; option < VARIANTS; ++option) {
        for (std::size_t i = 0; i < PATH_PURGES; ++i) {
            (*disk)->put(*variant(variant_number(0, purged_path(i, n), option)));
        }
        for (std::size_t c = 1; c <= PREFIX_PURGES; ++c) {
            for (std::size_t path = 0; path < PATHS_PER_FOLDER; ++path) {
                (*disk)->put(*variant(variant_number(c, path, option)));
            }
        }
    }
    return all_dropped && (*disk)->entries() == n ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    const std::string command = argc > 1 ? argv[1] : "";
    const auto n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 0;
    if (command == "memory" && argc == 3) {
        return memory_index(n);
    }
    if (command == "disk-build" && argc == 4) {
        return disk_build(n, argv[3]);
    }
    if (command == "disk-open" && (argc == 3 || argc == 4)) {
        const bool background = argc == 4 && std::string(argv[3]) == "background";
        return disk_open(argv[2], background ? cache::DiskCache::Startup::Background
                                             : cache::DiskCache::Startup::Wait);
    }
    if (command == "directory" && argc == 4) {
        return directory(n, argv[3]);
    }
    if (command == "purge" && argc == 4) {
        return purge(n, argv[3]);
    }
    std::fprintf(stderr, "usage: scale_bench memory N | disk-build N DIR | disk-open DIR "
                         "[background] | "
                         "directory N DB | purge N DIR\n");
    return 2;
}
