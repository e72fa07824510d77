// The decoded-original cache: its bound, LRU order and fair share, single-flight decodes, entries
// outliving their eviction while a pipeline reads them, and transform_image through it (a new
// etag decodes again; the bytes are those of a transform without the cache).
#include "transform/decoded_cache.h"

#include <gtest/gtest.h>
#include <vips/vips8>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "poll_until.h"
#include "transform/engine.h"
#include "transform/vips_runtime.h"

namespace cdn::transform {
namespace {

using namespace std::chrono_literals;
using vips::VImage;

Deadline later() { return std::chrono::steady_clock::now() + 30s; }

/** A `side`×`side` grey image in memory, as a cache entry claiming `bytes`. */
DecodedImage memory_image(int side, std::uint64_t bytes) {
    auto image = VImage::black(side, side).copy_memory();
    VipsImage* raw = image.get_image();
    g_object_ref(raw);
    return adopt_decoded(raw, bytes);
}

class DecodedCacheTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { ASSERT_TRUE(init_vips("decoded_cache_test")); }

    /** get_or_decode of `key` for `customer`, counting the decodes it runs. */
    DecodedImage get(DecodedCache& cache, const std::string& key,
                     const std::string& customer = "c1", std::uint64_t bytes = 100) {
        auto got = cache.get_or_decode(key, customer, later(), [&]() -> core::Result<DecodedImage> {
            decodes_.fetch_add(1);
            return memory_image(4, bytes);
        });
        EXPECT_TRUE(got);
        return got ? *got : DecodedImage{};
    }

    std::atomic<int> decodes_{0};
};

TEST_F(DecodedCacheTest, TheSecondRequestOfAKeyReusesTheFirstDecode) {
    DecodedCache cache(1000);
    const auto first = get(cache, "a");
    const auto second = get(cache, "a");
    EXPECT_EQ(decodes_.load(), 1);
    EXPECT_EQ(first.image.get(), second.image.get());
    const auto stats = cache.stats();
    EXPECT_EQ(stats.misses, 1u);
    EXPECT_EQ(stats.hits, 1u);
    EXPECT_EQ(stats.bytes, 100u);
    EXPECT_EQ(stats.entries, 1u);
}

TEST_F(DecodedCacheTest, StaysWithinItsBytesEvictingTheLeastRecentlyUsed) {
    DecodedCache cache(400); // entries of at most 100 bytes
    for (const auto* key : {"a", "b", "c", "d"}) {
        get(cache, key);
    }
    get(cache, "a"); // now b is the oldest
    get(cache, "e");
    auto stats = cache.stats();
    EXPECT_EQ(stats.bytes, 400u);
    EXPECT_EQ(stats.entries, 4u);
    EXPECT_EQ(stats.evictions, 1u);
    EXPECT_EQ(decodes_.load(), 5);
    get(cache, "a"); // still there
    EXPECT_EQ(decodes_.load(), 5);
    get(cache, "b"); // gone: decoded again
    EXPECT_EQ(decodes_.load(), 6);
    EXPECT_LE(cache.stats().bytes, 400u);
}

TEST_F(DecodedCacheTest, ADecodeLargerThanAQuarterOfTheCacheIsNotKept) {
    DecodedCache cache(400);
    EXPECT_TRUE(cache.admits(100));
    EXPECT_FALSE(cache.admits(101));
    EXPECT_FALSE(DecodedCache(0).admits(1));
    get(cache, "big", "c1", 101);
    get(cache, "big", "c1", 101);
    EXPECT_EQ(decodes_.load(), 2);
    EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST_F(DecodedCacheTest, OneCustomersFloodDoesNotEvictTheOthersEntries) {
    DecodedCache cache(400);
    get(cache, "quiet-1", "quiet");
    for (int i = 0; i < 20; ++i) {
        get(cache, "flood-" + std::to_string(i), "flood");
    }
    // Over half the cache, the flood evicts its own oldest entries: the quiet one stays.
    get(cache, "quiet-1", "quiet");
    EXPECT_EQ(decodes_.load(), 21);
    EXPECT_EQ(cache.stats().bytes, 400u);
    // Alone, a customer may use the whole cache.
    DecodedCache alone(400);
    for (const auto* key : {"a", "b", "c", "d"}) {
        get(alone, key, "only");
    }
    EXPECT_EQ(alone.stats().entries, 4u);
}

TEST_F(DecodedCacheTest, ConcurrentMissesOfOneKeyRunOneDecode) {
    DecodedCache cache(1000);
    std::promise<void> open; // the test opens it once every other caller waits
    const auto opened = open.get_future().share();
    auto slow_decode = [&]() -> core::Result<DecodedImage> {
        decodes_.fetch_add(1);
        opened.wait();
        return memory_image(4, 100);
    };
    constexpr int CALLERS = 8;
    std::vector<VipsImage*> seen(CALLERS, nullptr);
    std::vector<std::thread> threads;
    for (int i = 0; i < CALLERS; ++i) {
        threads.emplace_back([&, i] {
            auto got = cache.get_or_decode("a", "c1", later(), slow_decode);
            seen[static_cast<std::size_t>(i)] = got ? got->image.get() : nullptr;
        });
    }
    // Everyone but the decoder is waiting for its decode before it ends.
    EXPECT_TRUE(test::poll_until([&] { return cache.stats().waiting == CALLERS - 1; }, 20s));
    open.set_value();
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(decodes_.load(), 1);
    EXPECT_EQ(cache.stats().shared_decodes, static_cast<std::uint64_t>(CALLERS - 1));
    for (auto* image : seen) {
        EXPECT_NE(image, nullptr);
        EXPECT_EQ(image, seen.front());
    }
}

TEST_F(DecodedCacheTest, AFailedDecodeIsNotKept) {
    DecodedCache cache(1000);
    auto failing = [&]() -> core::Result<DecodedImage> {
        decodes_.fetch_add(1);
        return core::make_error(core::Errc::UnprocessableImage, "broken");
    };
    auto got = cache.get_or_decode("a", "c1", later(), failing);
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().code, core::Errc::UnprocessableImage);
    EXPECT_EQ(cache.stats().entries, 0u);
    get(cache, "a");
    EXPECT_EQ(decodes_.load(), 2);
}

TEST_F(DecodedCacheTest, AWaiterDecodesItselfWhenTheFirstDecodeRanOutOfItsTime) {
    DecodedCache cache(1000);
    std::promise<void> open;
    const auto opened = open.get_future().share();
    // The first decode waits for the test, then fails with its own request's timeout.
    auto decode = [&]() -> core::Result<DecodedImage> {
        if (decodes_.fetch_add(1) > 0) {
            return memory_image(4, 100);
        }
        opened.wait();
        return timeout_error();
    };
    std::thread first([&] { EXPECT_FALSE(cache.get_or_decode("a", "c1", later(), decode)); });
    ASSERT_TRUE(test::poll_until([&] { return decodes_.load() == 1; }, 20s));
    std::optional<core::Result<DecodedImage>> waiter;
    std::thread second([&] { waiter = cache.get_or_decode("a", "c1", later(), decode); });
    EXPECT_TRUE(test::poll_until([&] { return cache.stats().waiting == 1; }, 20s));
    open.set_value();
    first.join();
    second.join();
    ASSERT_TRUE(waiter && *waiter);
    EXPECT_EQ(decodes_.load(), 2);
    EXPECT_EQ(cache.stats().entries, 1u);
}

TEST_F(DecodedCacheTest, AnEntryInUseOutlivesItsEviction) {
    DecodedCache cache(400);
    auto held = get(cache, "a", "c1", 100);
    for (const auto* key : {"b", "c", "d", "e"}) {
        get(cache, key);
    }
    ASSERT_EQ(cache.stats().evictions, 1u);
    get(cache, "a");
    EXPECT_EQ(decodes_.load(), 6); // "a" was evicted, and decoded again
    // The evicted image is still whole for whoever read it: its pixels can be read.
    VImage image(held.image.get(), vips::NOSTEAL);
    EXPECT_EQ(image.width(), 4);
    EXPECT_EQ(image.avg(), 0.0);
}

/** transform_image through a cache: what a request of the edge does. */
class DecodeReuseTest : public DecodedCacheTest {
protected:
    static std::string jpeg(int width, int height) {
        auto image = VImage::xyz(width, height)[0].cast(VIPS_FORMAT_UCHAR);
        image = VImage::bandjoin({image, image.invert(), image});
        void* buf = nullptr;
        size_t len = 0;
        image.write_to_buffer(".jpg", &buf, &len);
        std::string out(static_cast<const char*>(buf), len);
        g_free(buf);
        return out;
    }

    static EncodedImage run(const std::string& bytes, std::uint32_t width, FormatChoice format,
                            const DecodeReuse& reuse) {
        TransformSpec spec;
        spec.width = width;
        spec.format = format;
        auto result = transform_image(bytes, spec, Limits{}, later(), reuse);
        EXPECT_TRUE(result) << result.error().message;
        return result ? *result : EncodedImage{};
    }
};

TEST_F(DecodeReuseTest, TwoVariantsOfAnOriginalDecodeItOnceAndMatchUncachedBytes) {
    DecodedCache cache(64'000'000);
    const auto original = jpeg(3000, 2000); // 700 and 600 px both decode at a quarter
    const DecodeReuse reuse{&cache, "k/photo.jpg\netag1", "c1"};
    const auto webp = run(original, 700, FormatChoice::Webp, reuse);
    const auto progressive = run(original, 600, FormatChoice::Jpeg, reuse);
    const auto stats = cache.stats();
    EXPECT_EQ(stats.misses, 1u);
    EXPECT_EQ(stats.hits, 1u);
    EXPECT_EQ(stats.bytes, 750u * 500u * 3u);
    EXPECT_EQ(webp.bytes, run(original, 700, FormatChoice::Webp, {}).bytes);
    EXPECT_EQ(progressive.bytes, run(original, 600, FormatChoice::Jpeg, {}).bytes);
    EXPECT_EQ(webp.width, 700u);
}

TEST_F(DecodeReuseTest, ANewEtagOfTheSameOriginalDecodesTheNewBytes) {
    DecodedCache cache(64'000'000);
    run(jpeg(3000, 2000), 600, FormatChoice::Png, {&cache, "k/photo.jpg\netag1", "c1"});
    const auto replaced =
        run(jpeg(3000, 1000), 600, FormatChoice::Png, {&cache, "k/photo.jpg\netag2", "c1"});
    EXPECT_EQ(replaced.height, 200u);
    EXPECT_EQ(cache.stats().misses, 2u);
}

} // namespace
} // namespace cdn::transform
