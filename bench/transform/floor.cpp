// The in-process floor of a miss: the libvips calls src/transform/engine.cpp makes for W1, W2
// and W3, and nothing else (no HTTP, no cache, no queue), run in a loop on N threads (one
// libvips thread each, as the service). Prints images/s, process CPU ms per image and the
// output size (compare it with the server's: the same bytes prove the same work).
// Usage: floor SOURCE_DIR WORKLOAD [THREADS=2] [SECONDS=10]; built and run by floor.sh.
#include <sys/resource.h>
#include <vips/vips8>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using vips::VImage;
using Clock = std::chrono::steady_clock;

struct Workload {
    const char* source;
    int width;
    const char* format; // webp, jpeg, avif
    int quality;
};

Workload workload(const std::string& name) {
    if (name == "w1") {
        return {"photo.jpg", 800, "webp", 75};
    }
    if (name == "w2") {
        return {"photo.jpg", 800, "jpeg", 75};
    }
    return {"graphic.png", 400, "avif", 50};
}

vips::VOption* load_options(VipsAccess access) {
    return VImage::option()->set("access", access)->set("fail_on", VIPS_FAIL_ON_TRUNCATED);
}

/** The engine's load: the header first (probe_source), then shrink-on-load for JPEG. */
VImage load(const std::string& bytes, int width) {
    auto header = VImage::new_from_buffer(bytes.data(), bytes.size(), "",
                                          load_options(VIPS_ACCESS_SEQUENTIAL));
    const double shrink = std::max(1.0, static_cast<double>(header.width()) / width);
    auto* options = load_options(VIPS_ACCESS_SEQUENTIAL);
    const bool jpeg = std::string(header.get_string("vips-loader")).starts_with("jpeg");
    const bool interlaced = header.get_typeof("interlaced") != 0 && header.get_int("interlaced");
    if (jpeg && !interlaced) {
        for (int f : {8, 4, 2}) {
            if (shrink >= f) {
                options->set("shrink", f);
                break;
            }
        }
    }
    return VImage::new_from_buffer(bytes.data(), bytes.size(), "", options);
}

std::size_t take_blob(VipsBlob* blob) {
    const auto size = blob->area.length;
    vips_area_unref(VIPS_AREA(blob));
    return size;
}

/** One miss: load, orient, to sRGB when not, resize to the width, encode as the engine does. */
std::size_t transform(const std::string& bytes, const Workload& w) {
    auto image = load(bytes, w.width).autorot();
    if (image.interpretation() != VIPS_INTERPRETATION_sRGB) {
        image = image.colourspace(VIPS_INTERPRETATION_sRGB);
    }
    const double tw = w.width;
    const double th = std::max(1.0, std::round(image.height() * tw / image.width()));
    image = image.resize(tw / image.width(), VImage::option()->set("vscale", th / image.height()));
    const std::string format = w.format;
    if (format == "webp") {
        return take_blob(image.webpsave_buffer(
            VImage::option()->set("Q", w.quality)->set("effort", 4)->set("keep", 0)));
    }
    if (format == "jpeg") {
        return take_blob(image.jpegsave_buffer(VImage::option()
                                                   ->set("Q", w.quality)
                                                   ->set("optimize_coding", true)
                                                   ->set("interlace", true)
                                                   ->set("keep", 0)));
    }
    return take_blob(image.heifsave_buffer(VImage::option()
                                               ->set("Q", w.quality)
                                               ->set("compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1)
                                               ->set("effort", 4)
                                               ->set("subsample_mode", VIPS_FOREIGN_SUBSAMPLE_ON)
                                               ->set("keep", 0)));
}

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3 || VIPS_INIT(argv[0]) != 0) {
        std::fprintf(stderr, "usage: floor SOURCE_DIR w1|w2|w3 [THREADS] [SECONDS]\n");
        return 2;
    }
    // As transform/vips_runtime.cpp: no operation cache, one libvips thread per image.
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_concurrency_set(1);
    const std::string name = argv[2];
    const auto w = workload(name);
    const int threads = argc > 3 ? std::stoi(argv[3]) : 2;
    const double seconds = argc > 4 ? std::stod(argv[4]) : 10;
    std::ifstream in(std::string(argv[1]) + "/" + w.source, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string bytes = buffer.str();
    const std::size_t out_bytes = transform(bytes, w); // warm-up, and the output size

    std::atomic<int> images{0};
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    const double cpu0 = cpu_seconds();
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([&] {
            while (Clock::now() < until) {
                transform(bytes, w);
                images.fetch_add(1);
                vips_error_clear();
            }
            vips_thread_shutdown();
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    std::printf("%s floor: %d images in %.1f s on %d threads: %.2f images/s, CPU %.1f ms/image, "
                "output %zu bytes\n",
                name.c_str(), images.load(), wall, threads, images.load() / wall,
                1000 * cpu / std::max(1, images.load()), out_bytes);
    vips_shutdown();
    return 0;
}
