#include "storage/bytes.h"

#include <gtest/gtest.h>

#include <cstring>

namespace cdn::storage {
namespace {

// Filled as a read fills it, then read back: both the heap buffer and the mapped one.
void expect_round_trip(std::size_t size) {
    auto bytes = Bytes::for_overwrite(size);
    ASSERT_EQ(bytes.size(), size);
    for (std::size_t i = 0; i < size; ++i) {
        bytes.data()[i] = static_cast<char>(i * 7 % 251);
    }
    std::string expected(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        expected[i] = static_cast<char>(i * 7 % 251);
    }
    EXPECT_TRUE(bytes == expected);
    EXPECT_EQ(std::string_view(bytes), expected);
    EXPECT_EQ(std::move(bytes).take(), expected);
}

TEST(Bytes, AnUninitialisedBufferHoldsWhatIsWrittenIntoIt) { expect_round_trip(1000); }

TEST(Bytes, ALargeBufferHasAMappingOfItsOwnAndHoldsWhatIsWrittenIntoIt) {
    expect_round_trip(Bytes::LARGE_BYTES + 12345);
}

TEST(Bytes, ALargeBufferIsNotAlignedAtItsEnd) {
    // The view is exactly the size asked for, not the huge pages it was rounded up to.
    const auto bytes = Bytes::for_overwrite(Bytes::LARGE_BYTES + 1);
    EXPECT_EQ(bytes.view().size(), Bytes::LARGE_BYTES + 1);
    EXPECT_FALSE(bytes.empty());
}

TEST(Bytes, AStringIsHandedOverWithoutACopy) {
    std::string text(4096, 'x');
    const char* const where = text.data();
    Bytes bytes(std::move(text));
    EXPECT_EQ(bytes.view().data(), where);
    const auto taken = std::move(bytes).take();
    EXPECT_EQ(taken.data(), where);
}

TEST(Bytes, EmptyBytesAreEmpty) {
    EXPECT_TRUE(Bytes().empty());
    EXPECT_TRUE(Bytes::for_overwrite(0).empty());
    EXPECT_TRUE(Bytes() == "");
}

} // namespace
} // namespace cdn::storage
