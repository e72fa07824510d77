// Issue 13, item 1: a transform is bounded in time for every input format and step, and in
// output size before any decode. Item 8: the default quality spelled out shares the cache entry.
#include <gtest/gtest.h>
#include <unistd.h>
#include <vips/vips8>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "fixtures.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

using vips::VImage;
using Clock = std::chrono::steady_clock;

/** PHOTO of transform_test.cpp: a real 2560×1600 photograph. */
constexpr const char* PHOTO = "/usr/share/backgrounds/mate/nature/LadyBird.jpg";

std::string save(const VImage& image, const char* suffix, vips::VOption* options = nullptr) {
    void* buf = nullptr;
    size_t len = 0;
    image.write_to_buffer(suffix, &buf, &len, options);
    std::string out(static_cast<char*>(buf), len);
    g_free(buf);
    return out;
}

/** A white `w`×`h` sRGB image with a few dark shapes: small as a file, large in pixels. */
VImage sparse(int w, int h) {
    auto white = VImage::black(w, h, VImage::option()->set("bands", 3)).linear(1.0, 255.0);
    for (int i = 1; i < 8; ++i) {
        white = white.insert(VImage::black(w / 20, h / 20, VImage::option()->set("bands", 3)),
                             w * i / 9, h * ((i * 3) % 8) / 9);
    }
    return white.cast(VIPS_FORMAT_UCHAR)
        .copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
}

/** Converts a PNG with one of Debian's encoders (libheif-examples, libjxl-tools). */
std::string encode_with(const std::string& dir, const std::string& png,
                        const std::string& command) {
    const auto in = dir + "/in.png";
    const auto out = dir + "/out";
    std::ofstream(in, std::ios::binary) << png;
    // heif-enc names its output after -o, which `command` ends with.
    const auto files = command.ends_with("-o") ? out + "' '" + in : in + "' '" + out;
    const auto line = command + " '" + files + "' >/dev/null 2>&1";
    EXPECT_EQ(std::system(line.c_str()), 0) << line;
    return read_file(out);
}

/** kB from a /proc/<pid>/status line ("VmRSS:", "VmHWM:"). */
long status_kb(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with(field)) {
            return std::atol(line.c_str() + field.size());
        }
    }
    return -1;
}

/** An SVG within the pixel limits, slow to draw: librsvg draws every element of the document
 *  for each of the twelve 2000×2000 tiles libvips asks for (four rows of three), and a blur on
 *  this canvas costs a few tenths of a second. */
std::string slow_svg() {
    std::string svg = R"(<svg xmlns="http://www.w3.org/2000/svg" width="6000" height="8000">)"
                      R"(<filter id="b"><feGaussianBlur stdDeviation="20"/></filter>)";
    for (int y = 2000; y < 8000; y += 4000) {
        svg += "<circle cx=\"3000\" cy=\"" + std::to_string(y) +
               "\" r=\"600\" fill=\"#c33\" filter=\"url(#b)\"/>";
    }
    return svg + "</svg>";
}

VImage photo_scaled(double width) {
    static const auto bytes = read_file(PHOTO);
    const auto photo = VImage::new_from_buffer(bytes.data(), bytes.size(), "");
    return photo.resize(width / photo.width());
}

using Millis = std::chrono::milliseconds;

Millis since(Clock::time_point start) {
    return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

/** CPU time a process has used (user + system, from /proc/<pid>/stat): the work it did, which
 *  a loaded machine does not inflate as it does wall time. */
Millis cpu_time(pid_t pid) {
    const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2)); // from field 3, the state
    std::string skipped;
    for (int field = 3; field < 14; ++field) {
        fields >> skipped;
    }
    long long user = 0;
    long long system = 0;
    fields >> user >> system;
    return Millis((user + system) * 1000 / ::sysconf(_SC_CLK_TCK));
}

/**
 * Each test puts slow originals in place, measures what each whole job costs on a server with
 * a long deadline, then asks again on a server with a short one and one worker: the job is
 * killed (503 transform_timeout) having done well under half its work, nothing is cached, and
 * the worker serves the next transform.
 */
class TransformBoundsTest : public ::testing::Test {
protected:

    static void SetUpTestSuite() { (void)sample_png(); } // starts libvips in this process

    void SetUp() override { put_original(dir_.path(), key_, "small.png", sample_png()); }

    void start(const std::string& timeout_ms) {
        server_.reset();
        server_ = std::make_unique<ServerProcess>(
            dir_.path(), std::map<std::string, std::string>{
                             {"IMAGECDN_LIMITS_TRANSFORM_TIMEOUT_MS", timeout_ms},
                             {"IMAGECDN_LIMITS_MAX_CONCURRENT_TRANSFORMS", "1"}});
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    RawResponse get(const std::string& target) {
        RawConnection conn(server_->port());
        EXPECT_TRUE(conn.send("GET /" + key_ + "/" + target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
        auto res = conn.read_response(false, std::chrono::seconds(300));
        EXPECT_TRUE(res) << target;
        return res ? *res : RawResponse{};
    }

    /** What a request cost: wall time, and the server's CPU time while it ran. */
    struct Cost {
        Millis wall;
        Millis cpu;
    };
    std::pair<RawResponse, Cost> timed_get(const std::string& target) {
        const auto started = Clock::now();
        const auto cpu_before = cpu_time(server_->pid());
        auto res = get(target);
        const Cost cost{since(started), cpu_time(server_->pid()) - cpu_before};
        std::printf("%s: %d in %lld ms (%lld ms CPU)\n", target.c_str(), res.status,
                    static_cast<long long>(cost.wall.count()),
                    static_cast<long long>(cost.cpu.count()));
        return {std::move(res), cost};
    }

    /** What each whole job costs with no deadline to speak of (each must succeed). */
    std::vector<Cost> whole_jobs(const std::vector<std::string>& targets) {
        start("600000");
        std::vector<Cost> costs;
        for (const auto& target : targets) {
            const auto [res, cost] = timed_get(target);
            costs.push_back(cost);
            EXPECT_EQ(res.status, 200) << target << " " << res.body;
        }
        return costs;
    }

    /** @param stoppable whether the job can be stopped midway; if not, it must fail right after
     *  the step that cannot be stopped, so the deadline is a quarter of the quickest job. */
    void expect_killed(const std::vector<std::string>& targets, bool stoppable = true) {
        const auto whole = whole_jobs(targets);
        const auto quickest = std::min_element(whole.begin(), whole.end(), [](auto& a, auto& b) {
                                  return a.wall < b.wall;
                              })->wall;
        start(stoppable ? "150" : std::to_string(std::max<long long>(10, quickest.count() / 4)));
        for (std::size_t i = 0; i < targets.size(); ++i) {
            // The same data dir: a new `v` so the whole job's variant is not what answers.
            const auto target =
                targets[i] + (targets[i].find('?') == std::string::npos ? "?" : "&") + "v=short";
            // Twice: a timeout is never cached, so the repeat runs (and fails) again.
            for (int attempt = 0; attempt < 2; ++attempt) {
                const auto [res, cost] = timed_get(target);
                EXPECT_EQ(res.status, 503) << target << " " << res.body;
                EXPECT_EQ(error_code(res), "transform_timeout") << target;
                EXPECT_EQ(res.header("x-cache"), std::nullopt) << target;
                EXPECT_EQ(res.header("cache-control"), "no-store") << target;
                if (stoppable) {
                    // Measured in work done (CPU time), not wall time: a loaded machine slows
                    // both runs, but only a job cut midway does less than half of the work.
                    EXPECT_LT(cost.cpu, whole[i].cpu / 2) << target << " was not stopped midway";
                }
            }
            expect_worker_free();
        }
    }

    void expect_worker_free() {
        const auto res = get("small.png?w=50&v=" + std::to_string(++served_));
        ASSERT_EQ(res.status, 200) << res.body;
        EXPECT_EQ(VImage::new_from_buffer(res.body.data(), res.body.size(), "").width(), 50);
    }

    TempDir dir_;
    std::string key_ = create_customer(dir_.path(), "bounds@example.com", "business");
    std::unique_ptr<ServerProcess> server_;
    int served_ = 0;
};

TEST_F(TransformBoundsTest, TrimAndSmartCropAreKilledAtTheDeadline) {
    // 100 MP, a few kB as a PNG: decoding, trimming and cropping it is the slow part.
    put_original(dir_.path(), key_, "big.png",
                 save(sparse(10000, 10000), ".png", VImage::option()->set("compression", 1)));
    expect_killed({"big.png?trim=10&w=100", "big.png?w=8192&h=10&fit=crop&g=entropy",
                   "big.png?w=8192&h=10&fit=crop&g=auto"});
}

TEST_F(TransformBoundsTest, TheDeadlineCountsFromTheJobsStartNotItsArrival) {
    put_original(dir_.path(), key_, "big.png",
                 save(sparse(10000, 10000), ".png", VImage::option()->set("compression", 1)));
    const auto whole = whole_jobs({"big.png?w=8192&h=10&fit=crop&g=entropy&v=0"}).front().wall;
    // One worker and a deadline of twice one job: three jobs sent at once wait for each other,
    // the last one ~3 jobs long from its arrival, yet each runs well within its deadline.
    start(std::to_string(2 * whole.count()));
    std::vector<std::unique_ptr<RawConnection>> conns;
    for (int i = 1; i <= 3; ++i) {
        conns.push_back(std::make_unique<RawConnection>(server_->port()));
        const auto target = "/" + key_ + "/big.png?w=8192&h=10&fit=crop&g=entropy&v=";
        ASSERT_TRUE(conns.back()->send("GET " + target + std::to_string(i) +
                                       " HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    for (auto& conn : conns) {
        const auto res = conn->read_response(false, std::chrono::seconds(120));
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 200) << res->body;
    }
}

TEST_F(TransformBoundsTest, SlowSvgIsKilledAtTheDeadline) {
    put_original(dir_.path(), key_, "slow.svg", slow_svg());
    // The original (rasterised to PNG) and a transform.
    expect_killed({"slow.svg", "slow.svg?w=100"});
}

TEST_F(TransformBoundsTest, SlowJpegXlIsKilledAtTheDeadline) {
    // Lossless (modular) JPEG XL decodes slowly: 10000×6250 takes seconds.
    put_original(dir_.path(), key_, "slow.jxl",
                 encode_with(dir_.path(), save(photo_scaled(10000), ".png"), "cjxl -d 0 -e 1"));
    expect_killed({"slow.jxl?w=100"});
}

TEST_F(TransformBoundsTest, SlowHeicTimesOutRightAfterItsDecode) {
    // x265 is slow to encode: a 3600×2250 photograph. libheif 1.15 cannot stop a decode: the
    // job fails right after it.
    put_original(dir_.path(), key_, "slow.heic",
                 encode_with(dir_.path(), save(photo_scaled(3600), ".png"),
                             "heif-enc -p x265:preset=ultrafast -o"));
    expect_killed({"slow.heic?w=100"}, false);
}

class OutputBoundsTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { (void)sample_png(); }

    void start(std::map<std::string, std::string> env = {}) {
        server_ = std::make_unique<ServerProcess>(dir_.path(), std::move(env));
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    RawResponse get(const std::string& target) {
        auto res = http_request(server_->port(), "GET", "/" + key_ + "/" + target);
        EXPECT_TRUE(res) << target;
        return res ? *res : RawResponse{};
    }

    TempDir dir_;
    std::string key_ = create_customer(dir_.path(), "output@example.com", "business");
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(OutputBoundsTest, AStripFittedToAHeightIsRefusedBeforeDecoding) {
    // Issue 13's attack: 100000×10 with h=8192&fit=contain asks for 81,920,000×8192.
    const auto strip =
        VImage::black(100000, 10, VImage::option()->set("bands", 3)).cast(VIPS_FORMAT_UCHAR);
    put_original(dir_.path(), key_, "strip.png", save(strip, ".png"));
    start();
    const auto rss_before = status_kb(server_->pid(), "VmRSS:");
    const auto peak_before = status_kb(server_->pid(), "VmHWM:");
    for (const auto* query : {"h=8192&fit=contain", "h=800&fit=contain", "h=8192&fit=pad",
                              "h=4000&fit=cover&w=8000",
                              "h=8192&fit=squeeze&w=8192"}) {
        const auto started = Clock::now();
        const auto res = get(std::string("strip.png?") + query);
        EXPECT_EQ(res.status, 400) << query << " " << res.body;
        EXPECT_EQ(error_code(res), "dimension_too_large") << query << " " << res.body;
        EXPECT_LT(since(started), Millis(5000)) << query; // the memory below shows no decode
    }
    // Nothing was decoded: the peak memory did not move (a decode of the strip alone is 3 MB,
    // the output asked for would be 200 GB).
    const auto peak_after = status_kb(server_->pid(), "VmHWM:");
    EXPECT_LT(peak_after - peak_before, 32 * 1024) << "peak RSS grew from " << peak_before
                                                    << " kB to " << peak_after << " kB";
    EXPECT_LT(status_kb(server_->pid(), "VmRSS:") - rss_before, 32 * 1024);
    // A sane fit of the same strip is served.
    const auto fine = get("strip.png?w=1000&fm=png");
    ASSERT_EQ(fine.status, 200) << fine.body;
    EXPECT_EQ(VImage::new_from_buffer(fine.body.data(), fine.body.size(), "").width(), 1000);
}

TEST_F(OutputBoundsTest, EveryTransformCountsOutputPixelsAndDprIsCapped) {
    const auto photo = read_file(PHOTO); // 2560×1600: 4.1 MP
    put_original(dir_.path(), key_, "photo.jpg", photo);
    start({{"IMAGECDN_LIMITS_MAX_OUTPUT_PIXELS", "1000000"}});
    // A format change without resizing is a transform of 4.1 MP: refused.
    for (const auto* query :
         {"fm=webp", "q=50", "w=2000&h=2000&fit=squeeze", "w=1600&h=1600&fit=squeeze"}) {
        const auto res = get(std::string("photo.jpg?") + query);
        EXPECT_EQ(res.status, 400) << query << " " << res.body;
        EXPECT_EQ(error_code(res), "dimension_too_large") << query;
    }
    // The original itself is always served.
    EXPECT_EQ(get("photo.jpg").body, photo);
    EXPECT_EQ(get("photo.jpg?w=1000&fm=png").status, 200);
    // Through dpr the box is capped instead: 1600×1600 becomes at most 1 MP, same aspect.
    const auto capped = get("photo.jpg?w=800&h=800&fit=squeeze&dpr=2&fm=png");
    ASSERT_EQ(capped.status, 200) << capped.body;
    const auto image = VImage::new_from_buffer(capped.body.data(), capped.body.size(), "");
    EXPECT_LE(image.width() * image.height(), 1'000'000);
    EXPECT_GE(image.width() * image.height(), 990'000);
    EXPECT_EQ(image.width(), image.height());
}

TEST_F(OutputBoundsTest, TheDefaultQualitySpelledOutIsTheSameCacheEntry) {
    put_original(dir_.path(), key_, "photo.jpg", read_file(PHOTO));
    start();
    struct Case {
        std::string left_out;
        std::string spelled;
    };
    for (const auto& c : std::vector<Case>{{"w=300", "w=300&q=80"},
                                           {"w=301&fm=webp", "w=301&fm=webp&q=80"},
                                           {"w=302&fm=avif", "w=302&q=60&fm=avif"},
                                           {"w=303&auto=compress", "w=303&auto=compress&q=70"}}) {
        const auto first = get("photo.jpg?" + c.left_out);
        ASSERT_EQ(first.status, 200) << c.left_out << " " << first.body;
        EXPECT_EQ(first.header("x-cache"), "MISS") << c.left_out;
        const auto second = get("photo.jpg?" + c.spelled);
        EXPECT_EQ(second.header("x-cache"), "HIT") << c.spelled;
        EXPECT_EQ(second.body, first.body) << c.spelled;
    }
    // Another quality is another entry.
    EXPECT_EQ(get("photo.jpg?w=300&q=81").header("x-cache"), "MISS");
}

} // namespace
} // namespace cdn::test
