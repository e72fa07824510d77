#include "storage/key.h"

#include <gtest/gtest.h>

#include <string>

namespace cdn::storage {
namespace {

struct KeyCase {
    std::string key;
    bool valid;
};

class ValidateKeyTest : public ::testing::TestWithParam<KeyCase> {};

TEST_P(ValidateKeyTest, AcceptsOrRefusesWithInvalidPath) {
    const auto& [key, valid] = GetParam();
    const auto result = validate_key(key);
    EXPECT_EQ(result.has_value(), valid) << "key: " << key;
    if (!valid && !result) {
        EXPECT_EQ(result.error().code, core::Errc::InvalidPath);
        EXPECT_FALSE(result.error().message.empty());
    }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ValidateKeyTest,
    ::testing::Values(
        // Ordinary keys.
        KeyCase{"pk_1/cat.jpg", true}, KeyCase{"pk_1/a/b/c/photo.webp", true},
        KeyCase{"pk_1/..hidden", true}, KeyCase{"pk_1/a..b/c", true},
        KeyCase{"pk_1/.well-known", true}, KeyCase{"pk_1/caf\xc3\xa9 au lait.png", true},
        KeyCase{"pk_1/a b/c%2e%2e", true}, KeyCase{std::string(1024, 'a'), true},
        // Traversal shapes.
        KeyCase{"..", false}, KeyCase{".", false}, KeyCase{"../etc/passwd", false},
        KeyCase{"pk_1/../pk_2/x.jpg", false}, KeyCase{"pk_1/..", false},
        KeyCase{"pk_1/./x.jpg", false}, KeyCase{"pk_1/.", false}, KeyCase{"./x", false},
        KeyCase{"/etc/passwd", false}, KeyCase{"/pk_1/x.jpg", false}, KeyCase{"pk_1//x.jpg", false},
        KeyCase{"pk_1/x.jpg/", false}, KeyCase{"pk_1/", false}, KeyCase{"pk_1\\..\\x.jpg", false},
        KeyCase{"pk_1/a\\b", false},
        // Size and characters.
        KeyCase{"", false}, KeyCase{std::string(1025, 'a'), false},
        KeyCase{std::string("pk_1/a\0b", 8), false}, KeyCase{"pk_1/a\nb", false},
        KeyCase{"pk_1/a\rb", false}, KeyCase{"pk_1/a\tb", false}, KeyCase{"pk_1/a\x1f", false},
        KeyCase{"pk_1/a\x7f", false}));

TEST(PathDepthTest, CountsSegments) {
    EXPECT_EQ(path_segments("a.png"), 1u);
    EXPECT_EQ(path_segments("a/b/c.png"), 3u);
}

TEST(PathDepthTest, RefusesPathsDeeperThanTheLimit) {
    std::string path = "x";
    for (int i = 1; i < 32; ++i) {
        path += "/x";
    }
    EXPECT_TRUE(validate_depth(path, 32));
    const auto deeper = validate_depth(path + "/x", 32);
    ASSERT_FALSE(deeper);
    EXPECT_EQ(deeper.error().code, core::Errc::InvalidPath);
}

} // namespace
} // namespace cdn::storage
