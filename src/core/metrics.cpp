#include "core/metrics.h"

#include <fmt/format.h>

namespace cdn::core {

void MetricWriter::family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void MetricWriter::sample(std::string_view name, std::string_view labels, double value) {
    if (labels.empty()) {
        out_ += fmt::format("{} {}\n", name, value);
    } else {
        out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
}

void MetricWriter::single(std::string_view name, std::string_view type, std::string_view help,
                          double value) {
    family(name, type, help);
    sample(name, "", value);
}

void MetricsRegistry::add(Collector collector) {
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::render() const {
    std::string out;
    MetricWriter writer(out);
    std::lock_guard lock(mutex_);
    for (const auto& collect : collectors_) {
        collect(writer);
    }
    return out;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size()) {}

void Histogram::observe(double seconds) {
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (seconds <= bounds_[i]) {
            counts_[i].fetch_add(1, std::memory_order_relaxed);
            break;
        }
    }
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::write(MetricWriter& writer, std::string_view name, std::string_view labels) const {
    const std::string sep = labels.empty() ? "" : std::string(labels) + ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        cumulative += counts_[i].load(std::memory_order_relaxed);
        writer.sample(fmt::format("{}_bucket", name), fmt::format("{}le=\"{}\"", sep, bounds_[i]),
                      static_cast<double>(cumulative));
    }
    const auto total = count_.load(std::memory_order_relaxed);
    writer.sample(fmt::format("{}_bucket", name), fmt::format("{}le=\"+Inf\"", sep),
                  static_cast<double>(total));
    writer.sample(fmt::format("{}_sum", name), labels,
                  static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
    writer.sample(fmt::format("{}_count", name), labels, static_cast<double>(total));
}

} // namespace cdn::core
