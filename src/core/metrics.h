#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::core {

/** Appends Prometheus text-format lines for one metric family. */
class MetricWriter {
public:
    explicit MetricWriter(std::string& out) : out_(out) {}
    /** `# HELP` and `# TYPE` lines; call once per family before its samples. */
    void family(std::string_view name, std::string_view type, std::string_view help);
    /** One sample; `labels` is the inside of the braces (`status="200"`) or empty. */
    void sample(std::string_view name, std::string_view labels, double value);
    /** A family of one unlabelled sample: family() then sample(). */
    void single(std::string_view name, std::string_view type, std::string_view help, double value);

private:
    std::string& out_;
};

/** Collects metrics from every module at scrape time: each module registers a function that
 *  writes its own families, so counters stay plain atomics on the hot path. */
class MetricsRegistry {
public:
    using Collector = std::function<void(MetricWriter&)>;
    void add(Collector collector);
    /** Registers a module object that writes its own families with
     *  `write_metrics(MetricWriter&) const`; it must outlive every render(). */
    template <class Source> void add_source(const Source& source) {
        add([&source](MetricWriter& writer) { source.write_metrics(writer); });
    }
    template <class... Sources> void add_sources(const Sources&... sources) {
        (add_source(sources), ...);
    }
    std::string render() const;

private:
    mutable std::mutex mutex_;
    std::vector<Collector> collectors_;
};

/** A latency histogram with fixed buckets (seconds), lock-free to observe. */
class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double seconds);
    void write(MetricWriter& writer, std::string_view name, std::string_view labels) const;

private:
    std::vector<double> bounds_;
    std::vector<std::atomic<std::uint64_t>> counts_;
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_micros_{0};
};

} // namespace cdn::core
