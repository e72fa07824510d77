// security::verify_signature on a request target `path?query`, as the edge's step 5 calls it,
// and security::sign_url, which the dashboard and clients/js mirror. Properties: an input whose
// own `s` was not made with the secret never verifies; sign_url's output for a path verifies,
// or fails only on its `exp` (the signature itself always matches).
#include "fuzz_check.h"
#include "security/url_signing.h"

namespace {

constexpr std::string_view SECRET = "fuzz-signing-secret";
constexpr std::int64_t NOW = 1'800'000'000;

cdn::core::Result<void> verify(std::string_view target) {
    const auto [path, query] = cdn::fuzz::split_once(target, '?');
    return cdn::security::verify_signature(
        {.path = path, .raw_query = query, .secret = SECRET, .now_unix = NOW});
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdn;
    const auto target = fuzz::text(data, size);
    // The fuzzer does not find HMAC-SHA256 preimages: an `s` it wrote cannot match.
    FUZZ_CHECK(!verify(target).has_value());
    auto signed_url = security::sign_url(target, SECRET);
    if (signed_url && signed_url->starts_with('/') && signed_url->find('#') == std::string::npos) {
        auto verified = verify(*signed_url);
        FUZZ_CHECK(verified || verified.error().code == core::Errc::SignatureExpired);
    }
    return 0;
}
