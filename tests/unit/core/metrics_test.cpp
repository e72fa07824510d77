#include "core/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace cdn::core {
namespace {

/** A module that writes its own family, as each module's write_metrics does. */
struct Counting {
    std::string name;
    double value = 0;
    void write_metrics(MetricWriter& writer) const {
        writer.single(name, "counter", "A test counter.", value);
    }
};

TEST(MetricsRegistry, RendersEachRegisteredSourceAtScrapeTimeInOrder) {
    MetricsRegistry registry;
    Counting first{"first_total", 1};
    Counting second{"second_total", 2};
    registry.add_sources(first, second);
    first.value = 5; // read at render time, not when registered
    EXPECT_EQ(registry.render(), "# HELP first_total A test counter.\n"
                                 "# TYPE first_total counter\n"
                                 "first_total 5\n"
                                 "# HELP second_total A test counter.\n"
                                 "# TYPE second_total counter\n"
                                 "second_total 2\n");
}

TEST(MetricWriter, SampleLabelsGoInBraces) {
    std::string out;
    MetricWriter writer(out);
    writer.sample("lookups_total", R"(tier="memory")", 3);
    EXPECT_EQ(out, "lookups_total{tier=\"memory\"} 3\n");
}

} // namespace
} // namespace cdn::core
