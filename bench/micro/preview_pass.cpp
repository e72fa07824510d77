// What the edge's metering step pays for the dashboard's preview pass (docs/previews.md), per
// request: the Cookie lookup every request makes, and the check a request with the pass makes.
// Run by bench/micro/preview_pass.sh.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "http/message.h"
#include "security/preview_pass.h"

namespace {

constexpr int CALLS = 1'000'000;

template <class Fn> double nanos_per_call(Fn fn) {
    const auto start = std::chrono::steady_clock::now();
    unsigned sink = 0;
    for (int i = 0; i < CALLS; ++i) {
        sink += fn() ? 1 : 0;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    std::printf("%s", sink == 7 ? " " : "");
    return std::chrono::duration<double, std::nano>(elapsed).count() / CALLS;
}

/** A browser's image request: the headers Chromium sends for an <img> (no Cookie). */
cdn::http::Request image_request() {
    cdn::http::Request r;
    r.method = "GET";
    r.target = "/pk_abcdefghijklmnopqrstuvwx/hit.png?w=240";
    r.headers = {{"Host", "cdn.example.com"},
                 {"Connection", "keep-alive"},
                 {"sec-ch-ua", "\"Chromium\";v=\"131\""},
                 {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"},
                 {"Accept", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"},
                 {"Sec-Fetch-Site", "cross-site"},
                 {"Sec-Fetch-Mode", "no-cors"},
                 {"Sec-Fetch-Dest", "image"},
                 {"Accept-Encoding", "gzip, deflate, br, zstd"},
                 {"Accept-Language", "en-GB,en;q=0.9"}};
    return r;
}

} // namespace

int main() {
    using namespace cdn;
    const auto key = security::preview_pass_key("0123456789abcdef0123456789abcdef");
    const std::string customer = "cus_0123456789abcdefghij";
    const auto pass = "cdn_preview=" + security::make_preview_pass(key, customer, 4'000'000'000);
    const auto plain = image_request();
    auto with_pass = image_request();
    with_pass.headers.push_back({"Cookie", pass});

    const auto check = [&](const http::Request& r) {
        const auto cookies = r.header("cookie");
        if (!cookies) {
            return false;
        }
        const auto value = security::cookie_value(*cookies, security::PREVIEW_COOKIE);
        return value && security::preview_pass_valid(key, *value, customer, 1'800'000'000);
    };
    std::printf("no Cookie header (every other request): %6.1f ns\n",
                nanos_per_call([&] { return check(plain); }));
    std::printf("a valid preview pass (HMAC-SHA256):       %6.1f ns\n",
                nanos_per_call([&] { return check(with_pass); }));
}
