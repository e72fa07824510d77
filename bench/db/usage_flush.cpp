// Time of one usage flush of N customer-hours through the real code: usage::UsageRecorder's
// flush() into db::UsageRepository::add_hourly, on the database given (a SQLite file path or a
// postgres:// URL), migrated first. Each round flushes N new (customer, hour) rows ("insert"),
// then the same N again ("update": every row exists, the upsert adds). Prints each round and
// the medians. Built and run on both engines by bench/db/usage_flush.sh.
//
//   usage_flush DATABASE [customers=10000] [hours=1] [rounds=3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "db/migrations.h"
#include "db/postgres_database.h"
#include "db/sqlite_database.h"
#include "usage/usage_recorder.h"

#include "fake_clock.h"

namespace {

using namespace cdn;

db::DatabasePtr open_database(const std::string& where) {
    auto database = where.starts_with("postgres://") ? db::PostgresDatabase::open({.url = where})
                                                      : db::SqliteDatabase::open(where);
    if (!database) {
        std::fprintf(stderr, "cannot open %s: %s\n", where.c_str(),
                     database.error().detail.c_str());
        std::exit(1);
    }
    return std::move(*database);
}

/** Records one event for each of `customers` x `hours` keys, from `clock`'s hour on. */
void record_all(usage::UsageRecorder& recorder, test::FakeClock& clock,
                const std::vector<std::string>& customers, int hours) {
    for (int h = 0; h < hours; ++h) {
        for (const auto& id : customers) {
            recorder.record({.customer_id = id, .bytes_out = 30'000, .cache_hit = true});
        }
        clock.advance(std::chrono::hours(1));
    }
}

/** Milliseconds one flush takes; exits on a failed flush. */
double timed_flush(usage::UsageRecorder& recorder) {
    const auto start = std::chrono::steady_clock::now();
    if (auto flushed = recorder.flush(); !flushed) {
        std::fprintf(stderr, "flush failed: %s\n", flushed.error().detail.c_str());
        std::exit(1);
    }
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DATABASE [customers] [hours] [rounds]\n", argv[0]);
        return 2;
    }
    const int customers = argc > 2 ? std::atoi(argv[2]) : 10'000;
    const int hours = argc > 3 ? std::atoi(argv[3]) : 1;
    const int rounds = argc > 4 ? std::atoi(argv[4]) : 3;
    auto database = open_database(argv[1]);
    if (auto migrated = db::migrate(*database); !migrated) {
        std::fprintf(stderr, "migrate: %s\n", migrated.error().detail.c_str());
        return 1;
    }
    std::vector<std::string> ids;
    for (int i = 0; i < customers; ++i) {
        ids.push_back("cus_bench_" + std::to_string(i));
    }
    test::FakeClock clock;
    usage::UsageRecorder recorder(*database, clock, std::chrono::hours(1));
    std::vector<double> inserts, updates;
    for (int round = 1; round <= rounds; ++round) {
        record_all(recorder, clock, ids, hours);
        inserts.push_back(timed_flush(recorder));
        clock.advance(-std::chrono::hours(hours)); // the same hours again
        record_all(recorder, clock, ids, hours);
        updates.push_back(timed_flush(recorder));
        std::printf("round %d: insert %.1f ms, update %.1f ms\n", round, inserts.back(),
                    updates.back());
    }
    std::printf("usage flush of %d customer-hours (%s): insert median %.1f ms, update median "
                "%.1f ms\n",
                customers * hours, std::string(database->dialect()).c_str(), median(inserts),
                median(updates));
}
