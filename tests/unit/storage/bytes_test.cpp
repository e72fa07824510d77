#include "storage/bytes.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

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

TEST(Bytes, ALargeBufferComesFromThePoolAndHoldsWhatIsWrittenIntoIt) {
    expect_round_trip(Bytes::POOLED_BYTES + 12345);
    expect_round_trip(Bytes::POOLED_BYTES * 9);
}

TEST(Bytes, ALargeBufferIsExactlyTheSizeAskedFor) {
    // Not the huge pages it was rounded up to.
    const auto bytes = Bytes::for_overwrite(Bytes::POOLED_BYTES + 1);
    EXPECT_EQ(bytes.view().size(), Bytes::POOLED_BYTES + 1);
}

TEST(Bytes, AGivenBackBufferIsReusedForTheNextRead) {
    Bytes::drop_kept();
    const char* first = nullptr;
    {
        auto bytes = Bytes::for_overwrite(3 * Bytes::POOLED_BYTES);
        first = bytes.data();
    }
    EXPECT_GE(Bytes::kept_bytes(), 3 * Bytes::POOLED_BYTES);
    auto again = Bytes::for_overwrite(3 * Bytes::POOLED_BYTES - 100);
    EXPECT_EQ(again.data(), first);
    EXPECT_EQ(Bytes::kept_bytes(), 0u);
}

TEST(Bytes, ThePoolKeepsAtMostItsBoundBetweenReads) {
    Bytes::drop_kept();
    {
        std::vector<Bytes> many;
        for (std::size_t i = 0; i < Bytes::KEPT_BUFFERS + 3; ++i) {
            many.push_back(Bytes::for_overwrite(Bytes::KEPT_BYTES / 3));
        }
    }
    EXPECT_LE(Bytes::kept_bytes(), Bytes::KEPT_BYTES);
    EXPECT_GT(Bytes::kept_bytes(), 0u);
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
