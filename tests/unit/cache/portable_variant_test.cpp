#include "cache/portable_variant.h"

#include <gtest/gtest.h>

#include "core/hash.h"

namespace cdn::cache {
namespace {

CachedVariant variant(std::string body) {
    CachedVariant v;
    v.key = "imagecdn:pk_a:cat.png:abc";
    v.content_type = "image/webp";
    v.etag = "\"" + core::hash128_hex(body) + "\"";
    v.last_modified = 1'700'000'000;
    v.stored_at = 1'700'000'123;
    v.body = std::move(body);
    return v;
}

TEST(PortableVariant, RoundTripsEveryFieldAnAnswerNeeds) {
    const auto original = variant(std::string("RIFF\0\0binary\n\nbody", 18));
    const auto decoded = decode_portable(encode_portable(original), original.key);
    ASSERT_TRUE(decoded) << decoded.error().detail;
    EXPECT_EQ(decoded->key, original.key);
    EXPECT_EQ(decoded->content_type, original.content_type);
    EXPECT_EQ(decoded->etag, original.etag);
    EXPECT_EQ(decoded->last_modified, original.last_modified);
    EXPECT_EQ(decoded->stored_at, original.stored_at);
    EXPECT_EQ(decoded->status, 200u);
    EXPECT_EQ(decoded->body, original.body);
}

TEST(PortableVariant, ATornOrForeignObjectIsRefused) {
    const auto encoded = encode_portable(variant("the bytes of a variant"));
    EXPECT_FALSE(decode_portable(encoded.substr(0, encoded.size() - 3), "k")) << "torn";
    auto changed = encoded;
    changed.back() = '!';
    EXPECT_FALSE(decode_portable(changed, "k")) << "the body is not its etag's";
    EXPECT_FALSE(decode_portable("imagecdn-variant/2\n" + encoded.substr(19), "k"));
    EXPECT_FALSE(decode_portable("\x89PNG\r\n", "k"));
    EXPECT_FALSE(decode_portable("", "k"));
}

} // namespace
} // namespace cdn::cache
