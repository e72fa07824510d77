// HMAC-SHA256 of a signed delivery URL: OpenSSL 3's one-shot HMAC() against ours
// (security/hmac.h, SHA-256 fetched once). Run by bench/micro/hmac.sh.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdio>
#include <string_view>

#include "security/hmac.h"

namespace {

constexpr int CALLS = 200'000;
constexpr std::string_view KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr std::string_view MESSAGE = "/pk_abcdefghijklmnopqrstuvwx/hit.png?v=1";

template <class Fn> double micros_per_call(Fn fn) {
    const auto start = std::chrono::steady_clock::now();
    unsigned char sink = 0;
    for (int i = 0; i < CALLS; ++i) {
        sink ^= fn();
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    std::printf("%s", sink == 0xFF ? " " : "");
    return std::chrono::duration<double, std::micro>(elapsed).count() / CALLS;
}

} // namespace

int main() {
    const double one_shot = micros_per_call([] {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        HMAC(EVP_sha256(), KEY.data(), static_cast<int>(KEY.size()),
             reinterpret_cast<const unsigned char*>(MESSAGE.data()), MESSAGE.size(), digest,
             &length);
        return digest[0];
    });
    const double ours = micros_per_call([] { return cdn::security::hmac_sha256(KEY, MESSAGE)[0]; });
    std::printf("HMAC() one-shot: %.2f us/call\nsecurity::hmac_sha256: %.2f us/call\n", one_shot,
                ours);
}
