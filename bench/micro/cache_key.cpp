// The cache key of a delivery request, computed on every request, hits included: the key of
// older builds (XXH3-128 of the canonical options) against cache::make_cache_key (SHA-256).
// Run by bench/micro/cache_key.sh.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "cache/cache_key.h"
#include "core/hash.h"

namespace {

constexpr int CALLS = 1'000'000;
constexpr std::string_view PUBLIC_KEY = "pk_abcdefghijklmnopqrstuvwx";
constexpr std::string_view PATH = "products/2024/summer/item-0042.jpg";
// The shape of TransformSpec::canonical() for `?w=800&h=600&fit=cover&format=auto` on a WebP
// client: every field spelled out (154 bytes, three SHA-256 blocks).
constexpr std::string_view CANONICAL =
    "w=800;h=600;fit=cover;g=0:0.5000:0.5000;f=webp;json=false;q=80;c=false;rot=0;flip=0;"
    "blur=-;sharpen=-;trim=-;bg=00000000;meta=0;anim=true;lossless=false;v=";

std::string old_key(std::string_view pk, std::string_view path, std::string_view canonical) {
    return cdn::cache::key_prefix_for_path(pk, path) + cdn::core::hash128_hex(canonical);
}

template <class Fn> double nanos_per_call(Fn fn) {
    std::size_t sink = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < CALLS; ++i) {
        sink += fn().size();
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    std::printf("%s", sink == 0 ? " " : "");
    return std::chrono::duration<double, std::nano>(elapsed).count() / CALLS;
}

} // namespace

int main() {
    for (int run = 0; run < 3; ++run) {
        const double xxh = nanos_per_call([] { return old_key(PUBLIC_KEY, PATH, CANONICAL); });
        const double sha = nanos_per_call(
            [] { return cdn::cache::make_cache_key(PUBLIC_KEY, PATH, CANONICAL); });
        std::printf("run %d: XXH3-128 key %.0f ns/key, SHA-256 key %.0f ns/key (+%.0f ns)\n",
                    run + 1, xxh, sha, sha - xxh);
    }
}
