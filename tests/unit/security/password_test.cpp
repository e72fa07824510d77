#include "security/password.h"

#include <gtest/gtest.h>

#include <string>

namespace cdn::security {
namespace {

TEST(PasswordTest, HashVerifiesAndAWrongPasswordFails) {
    auto hash = hash_password("correct horse battery staple");
    ASSERT_TRUE(hash) << hash.error().detail;
    EXPECT_TRUE(verify_password(*hash, "correct horse battery staple"));
    EXPECT_FALSE(verify_password(*hash, "correct horse battery stapl"));
    EXPECT_FALSE(verify_password(*hash, "Correct horse battery staple"));
    EXPECT_FALSE(verify_password(*hash, ""));
}

TEST(PasswordTest, HashIsArgon2idWithOwaspParameters) {
    auto hash = hash_password("0123456789");
    ASSERT_TRUE(hash);
    EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *hash;
    EXPECT_FALSE(password_needs_rehash(*hash));
}

TEST(PasswordTest, SaltsDiffer) {
    auto a = hash_password("same password here");
    auto b = hash_password("same password here");
    ASSERT_TRUE(a && b);
    EXPECT_NE(*a, *b);
    EXPECT_TRUE(verify_password(*b, "same password here"));
}

TEST(PasswordTest, UnicodeAndLongPasswords) {
    const std::string unicode = "pässwörd-ключ-密码";
    auto hash = hash_password(unicode);
    ASSERT_TRUE(hash);
    EXPECT_TRUE(verify_password(*hash, unicode));

    const std::string longest(MAX_PASSWORD_BYTES, 'x');
    auto long_hash = hash_password(longest);
    ASSERT_TRUE(long_hash);
    EXPECT_TRUE(verify_password(*long_hash, longest));

    auto too_long = hash_password(std::string(MAX_PASSWORD_BYTES + 1, 'x'));
    ASSERT_FALSE(too_long);
    EXPECT_EQ(too_long.error().code, core::Errc::InvalidRequest);
    EXPECT_FALSE(verify_password(*long_hash, std::string(MAX_PASSWORD_BYTES + 1, 'x')));
}

TEST(PasswordTest, MalformedHashesNeverVerify) {
    EXPECT_FALSE(verify_password("", "password123"));
    EXPECT_FALSE(verify_password("plaintext", "plaintext"));
    EXPECT_FALSE(verify_password("$argon2id$v=19$m=19456,t=2,p=1$garbage", "password123"));
    EXPECT_FALSE(verify_password(std::string(300, '$'), "password123"));
    EXPECT_FALSE(verify_password(std::string("$argon2id\0x", 11), "password123"));
    EXPECT_TRUE(password_needs_rehash("not a hash"));
}

TEST(PasswordTest, WeakerParametersNeedRehash) {
    // An argon2id hash with t=1 (libsodium's interactive limit is t=2, m=64 MiB; t=1, m=8 MiB
    // here is just "other").
    EXPECT_TRUE(password_needs_rehash(
        "$argon2id$v=19$m=8192,t=1,p=1$S3lsv9oxnbxOT6kb/MiWmA$"
        "Nz260/zVb06g4Jkv5gf+chBziuV6axXxUytsSAD/xas"));
    EXPECT_TRUE(password_needs_rehash(
        "$argon2i$v=19$m=19456,t=2,p=1$S3lsv9oxnbxOT6kb/MiWmA$"
        "Nz260/zVb06g4Jkv5gf+chBziuV6axXxUytsSAD/xas"));
}

TEST(PasswordTest, DummyHashHasTodaysParametersAndMatchesNothingGuessable) {
    const auto dummy = dummy_password_hash();
    EXPECT_TRUE(dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << dummy;
    EXPECT_FALSE(password_needs_rehash(dummy));
    EXPECT_FALSE(verify_password(dummy, ""));
    EXPECT_FALSE(verify_password(dummy, "password123"));
}

} // namespace
} // namespace cdn::security
