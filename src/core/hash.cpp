#include "core/hash.h"

#include <openssl/evp.h>
#include <xxhash.h>

#include <array>
#include <cstdio>
#include <memory>

#include "core/strings.h"

namespace cdn::core {

std::uint64_t hash64(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

std::string hash128_hex(std::string_view data) {
    const XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
    char out[33];
    std::snprintf(out, sizeof(out), "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return std::string(out, 32);
}

std::string sha256_hex(std::string_view data) {
    // Fetched once, and one context per thread: OpenSSL 3's one-shot SHA256() and EVP_Digest
    // look the algorithm up or allocate on every call, and this runs on every request.
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
        EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::array<unsigned char, 32> digest{};
    unsigned int length = 0;
    EVP_DigestInit_ex(ctx.get(), sha256, nullptr);
    EVP_DigestUpdate(ctx.get(), data.data(), data.size());
    EVP_DigestFinal_ex(ctx.get(), digest.data(), &length);
    return to_hex(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

} // namespace cdn::core
