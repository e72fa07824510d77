// security::verify_jwt on any token (the API's Authorization: Bearer value). Property: a token
// that verifies has a subject and is not expired; re-signing its claims gives a token that
// verifies to the same claims.
#include "fuzz_check.h"
#include "security/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdn;
    constexpr std::string_view SECRET = "fuzz-jwt-secret";
    constexpr std::int64_t NOW = 1'800'000'000;
    auto claims = security::verify_jwt(fuzz::text(data, size), SECRET, NOW);
    if (!claims) {
        return 0;
    }
    FUZZ_CHECK(!claims->sub.empty());
    FUZZ_CHECK(claims->exp > NOW);
    auto again = security::verify_jwt(security::sign_jwt(*claims, SECRET), SECRET, NOW);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->sub == claims->sub && again->exp == claims->exp && again->iat == claims->iat);
    return 0;
}
