#include "security/keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/random.h"
#include "core/strings.h"

namespace cdn::security {
namespace {
constexpr std::size_t API_KEY_PREFIX_LENGTH = 12;
constexpr std::size_t PUBLIC_KEY_RANDOM_LENGTH = 24;
} // namespace

ApiKeySecret generate_api_key() {
    ApiKeySecret key;
    key.secret = "sk_" + core::random_base62(40);
    key.prefix = std::string(api_key_prefix(key.secret));
    key.hash = hash_api_key(key.secret);
    return key;
}

std::string hash_api_key(std::string_view secret) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(secret.data(), secret.size(), digest, &length, EVP_sha256(), nullptr);
    return core::to_hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string_view api_key_prefix(std::string_view secret) {
    return secret.substr(0, API_KEY_PREFIX_LENGTH);
}

std::string generate_public_key() { return "pk_" + core::random_base62(PUBLIC_KEY_RANDOM_LENGTH); }

bool is_public_key(std::string_view key) {
    if (key.size() != 3 + PUBLIC_KEY_RANDOM_LENGTH || !key.starts_with("pk_")) {
        return false;
    }
    for (char c : key.substr(3)) {
        if (!std::isalnum(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
}

std::string generate_secret() { return core::random_hex(32); }

bool constant_time_equals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace cdn::security
