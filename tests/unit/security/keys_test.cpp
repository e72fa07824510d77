#include "security/keys.h"

#include <gtest/gtest.h>

namespace cdn::security {

TEST(Keys, ApiKeyShapeAndHash) {
    const auto key = generate_api_key();
    EXPECT_EQ(key.secret.size(), 43u);
    EXPECT_TRUE(key.secret.starts_with("sk_"));
    EXPECT_EQ(key.prefix, key.secret.substr(0, 12));
    EXPECT_EQ(key.hash, hash_api_key(key.secret));
    EXPECT_EQ(key.hash.size(), 64u);
    EXPECT_NE(key.hash, hash_api_key(generate_api_key().secret));
}

TEST(Keys, Sha256KnownAnswer) {
    EXPECT_EQ(hash_api_key("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Keys, PublicKeyShape) {
    const auto pk = generate_public_key();
    EXPECT_TRUE(is_public_key(pk)) << pk;
    EXPECT_FALSE(is_public_key("pk_short"));
    EXPECT_FALSE(is_public_key("pk_../../etc/passwd/aaaaaaaaaaa"));
    EXPECT_FALSE(is_public_key("sk_" + pk.substr(3)));
}

TEST(Keys, ConstantTimeEquals) {
    EXPECT_TRUE(constant_time_equals("abc", "abc"));
    EXPECT_FALSE(constant_time_equals("abc", "abd"));
    EXPECT_FALSE(constant_time_equals("abc", "ab"));
}

} // namespace cdn::security
