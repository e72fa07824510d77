#include "transform/decoded_cache.h"

#include <vips/vips.h>

namespace cdn::transform {

DecodedImage adopt_decoded(VipsImage* image, std::uint64_t bytes) {
    return DecodedImage{std::shared_ptr<VipsImage>(image, [](VipsImage* i) { g_object_unref(i); }),
                        bytes};
}

DecodedCache::DecodedCache(std::uint64_t max_bytes)
    : max_bytes_(max_bytes), max_entry_bytes_(max_bytes / 4) {}

core::Result<DecodedImage> DecodedCache::get_or_decode(const std::string& key,
                                                       const std::string& customer,
                                                       Deadline deadline, const Decode& decode) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (auto hit = find(key)) {
            hits_.fetch_add(1, std::memory_order_relaxed);
            return *hit;
        }
        auto flying = flights_.find(key);
        if (flying == flights_.end()) {
            return lead(lock, key, customer, decode);
        }
        // Keep the flight alive past its removal from the map while we read its outcome.
        const auto flight = flying->second;
        if (auto outcome = wait_for(lock, flight, deadline)) {
            return std::move(*outcome);
        }
    }
}

std::optional<DecodedImage> DecodedCache::find(const std::string& key) {
    const auto found = index_.find(key);
    if (found == index_.end()) {
        return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, found->second);
    return found->second->image;
}

std::optional<core::Result<DecodedImage>>
DecodedCache::wait_for(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Flight>& flight,
                       Deadline deadline) {
    ++waiting_;
    const bool landed = landed_.wait_until(lock, deadline, [&] { return flight->done; });
    --waiting_;
    if (!landed) {
        return core::Result<DecodedImage>(timeout_error());
    }
    if (flight->image) {
        shared_decodes_.fetch_add(1, std::memory_order_relaxed);
        return core::Result<DecodedImage>(*flight->image);
    }
    // The decode ran out of its own request's time, not of ours: decode it ourselves.
    if (flight->error->code == core::Errc::TransformTimeout) {
        return std::nullopt;
    }
    // The same bytes fail the same way for everyone.
    return core::Result<DecodedImage>(*flight->error);
}

core::Result<DecodedImage> DecodedCache::lead(std::unique_lock<std::mutex>& lock,
                                              const std::string& key, const std::string& customer,
                                              const Decode& decode) {
    const auto flight = std::make_shared<Flight>();
    flights_.emplace(key, flight);
    misses_.fetch_add(1, std::memory_order_relaxed);
    lock.unlock();
    auto land = [&](const core::Result<DecodedImage>& outcome) {
        lock.lock();
        flights_.erase(key);
        flight->done = true;
        if (outcome) {
            flight->image = *outcome;
            insert(key, customer, *outcome);
        } else {
            flight->error = outcome.error();
        }
        landed_.notify_all();
    };
    core::Result<DecodedImage> outcome = core::make_error(core::Errc::Internal, "no decode");
    try {
        outcome = decode();
    } catch (...) {
        land(core::make_error(core::Errc::UnprocessableImage, "the original could not be decoded"));
        throw;
    }
    land(outcome);
    return outcome;
}

void DecodedCache::insert(const std::string& key, const std::string& customer,
                          const DecodedImage& image) {
    if (!admits(image.bytes)) {
        return;
    }
    evict_for(customer, image.bytes);
    lru_.push_front(Entry{key, customer, image});
    index_.emplace(key, lru_.begin());
    bytes_ += image.bytes;
    customer_bytes_[customer] += image.bytes;
}

/** Makes room for `incoming` bytes of `customer`: its own oldest entries while it holds more
 *  than half of the cache, else the oldest of anyone's. */
void DecodedCache::evict_for(const std::string& customer, std::uint64_t incoming) {
    while (bytes_ + incoming > max_bytes_ && !lru_.empty()) {
        auto victim = std::prev(lru_.end());
        const auto held = customer_bytes_.find(customer);
        if (held != customer_bytes_.end() && held->second + incoming > max_bytes_ / 2) {
            while (victim->customer != customer) {
                --victim;
            }
        }
        erase(victim);
        evictions_.fetch_add(1, std::memory_order_relaxed);
    }
}

void DecodedCache::erase(Lru::iterator it) {
    bytes_ -= it->image.bytes;
    const auto held = customer_bytes_.find(it->customer);
    held->second -= it->image.bytes;
    if (held->second == 0) {
        customer_bytes_.erase(held);
    }
    index_.erase(it->key);
    lru_.erase(it);
}

DecodedCache::Stats DecodedCache::stats() const {
    Stats s;
    s.hits = hits_.load(std::memory_order_relaxed);
    s.misses = misses_.load(std::memory_order_relaxed);
    s.shared_decodes = shared_decodes_.load(std::memory_order_relaxed);
    s.evictions = evictions_.load(std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    s.bytes = bytes_;
    s.entries = lru_.size();
    s.waiting = waiting_;
    return s;
}

void DecodedCache::write_metrics(core::MetricWriter& writer) const {
    const auto s = stats();
    const auto d = [](std::uint64_t v) { return static_cast<double>(v); };
    writer.single("imagecdn_decoded_cache_hits_total", "counter",
                  "Transforms that reused a decoded original from memory.", d(s.hits));
    writer.single("imagecdn_decoded_cache_misses_total", "counter",
                  "Decodes of an original run for the decoded-original cache.", d(s.misses));
    writer.single("imagecdn_decoded_cache_shared_decodes_total", "counter",
                  "Transforms that waited for another's decode of the same original.",
                  d(s.shared_decodes));
    writer.single("imagecdn_decoded_cache_evictions_total", "counter",
                  "Decoded originals dropped to stay within [cache] decoded_bytes.",
                  d(s.evictions));
    writer.single("imagecdn_decoded_cache_bytes", "gauge", "Bytes of decoded originals kept.",
                  d(s.bytes));
    writer.single("imagecdn_decoded_cache_entries", "gauge", "Decoded originals kept.",
                  d(s.entries));
}

} // namespace cdn::transform
