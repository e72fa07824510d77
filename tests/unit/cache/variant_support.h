#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "cache/cached_variant.h"
#include "core/clock.h"

namespace cdn::cache::testing {

inline VariantPtr make_variant(const std::string& key, std::size_t body_size, char fill = 'x') {
    auto v = std::make_shared<CachedVariant>();
    v->key = key;
    v->content_type = "image/webp";
    v->etag = "\"0123456789abcdef0123456789abcdef\"";
    v->last_modified = 1'700'000'000;
    v->stored_at = 1'700'000'100;
    v->body = std::string(body_size, fill);
    return v;
}

/** Steady time that moves only when told to. */
class FakeClock final : public core::Clock {
public:
    std::chrono::system_clock::time_point system_now() const override {
        return std::chrono::system_clock::time_point(steady_.load().time_since_epoch());
    }
    std::chrono::steady_clock::time_point steady_now() const override { return steady_.load(); }
    void advance(std::chrono::steady_clock::duration by) { steady_ = steady_.load() + by; }

private:
    std::atomic<std::chrono::steady_clock::time_point> steady_{
        std::chrono::steady_clock::time_point(std::chrono::hours(1000))};
};

} // namespace cdn::cache::testing
