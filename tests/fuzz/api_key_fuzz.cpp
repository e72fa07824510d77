// The API-key and public-key parsing an Authorization header or a delivery URL reaches:
// security::api_key_prefix, hash_api_key and is_public_key. Property: the prefix is a prefix of
// the secret, the hash is 64 hex digits, and a public key has its documented shape.
#include <algorithm>

#include "fuzz_check.h"
#include "security/keys.h"

namespace {

bool is_base62(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdn;
    const auto input = fuzz::text(data, size);
    const auto prefix = security::api_key_prefix(input);
    FUZZ_CHECK(input.starts_with(prefix));
    FUZZ_CHECK(security::hash_api_key(input).size() == 64);
    if (security::is_public_key(input)) {
        FUZZ_CHECK(input.size() == 27 && input.starts_with("pk_"));
        FUZZ_CHECK(std::all_of(input.begin() + 3, input.end(), is_base62));
    }
    return 0;
}
