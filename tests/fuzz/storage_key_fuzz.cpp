// storage::validate_key, which every store and the edge's URL parser call on a customer's key.
// Property: a key that validates stays inside the customer's folder: no dot-segment, no empty
// segment, no leading '/', no backslash or control character, at most MAX_KEY_BYTES.
#include "fuzz_check.h"
#include "storage/key.h"

namespace {

bool has_escaping_segment(std::string_view key) {
    std::size_t start = 0;
    while (true) {
        const auto end = key.find('/', start);
        const auto segment = key.substr(start, end - start);
        if (segment.empty() || segment == "." || segment == "..") {
            return true;
        }
        if (end == std::string_view::npos) {
            return false;
        }
        start = end + 1;
    }
}

bool has_forbidden_byte(std::string_view key) {
    for (const unsigned char c : key) {
        if (c < 0x20 || c == 0x7f || c == '\\') {
            return true;
        }
    }
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdn;
    const auto key = fuzz::text(data, size);
    const bool valid = storage::validate_key(key).has_value();
    (void)storage::validate_depth(key, 32);
    if (valid) {
        FUZZ_CHECK(key.size() <= storage::MAX_KEY_BYTES);
        FUZZ_CHECK(!key.starts_with('/'));
        FUZZ_CHECK(!has_escaping_segment(key));
        FUZZ_CHECK(!has_forbidden_byte(key));
        FUZZ_CHECK(storage::path_segments(key) >= 1);
    }
    return 0;
}
