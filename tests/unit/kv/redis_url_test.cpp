#include "kv/redis_url.h"

#include <gtest/gtest.h>

namespace cdn::kv {
namespace {

TEST(RedisUrl, ReadsHostPortPasswordAndDatabase) {
    auto plain = parse_redis_url("redis://127.0.0.1:6379");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->host, "127.0.0.1");
    EXPECT_EQ(plain->port, 6379);
    EXPECT_EQ(plain->password, "");
    EXPECT_EQ(plain->db, 0);

    auto full = parse_redis_url("redis://:p@ss:word@cache.internal:6380/3");
    ASSERT_TRUE(full);
    EXPECT_EQ(full->host, "cache.internal");
    EXPECT_EQ(full->port, 6380);
    EXPECT_EQ(full->username, "");
    EXPECT_EQ(full->password, "p@ss:word") << "the last '@' ends the credentials";
    EXPECT_EQ(full->db, 3);
    EXPECT_EQ(full->display(), "redis://cache.internal:6380/3");

    auto user = parse_redis_url("redis://edge:secret@h");
    ASSERT_TRUE(user);
    EXPECT_EQ(user->username, "edge");
    EXPECT_EQ(user->port, 6379) << "the default port";

    auto v6 = parse_redis_url("redis://[::1]:7000/");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->display(), "redis://[::1]:7000/0");
}

TEST(RedisUrl, RefusesWhatItCannotUse) {
    for (const char* url : {"", "http://h:1", "redis://", "redis://:6379", "redis://h:0",
                            "redis://h:65536", "redis://h:port", "redis://h:1/db",
                            "redis://user@h:1", "redis://[::1:1", "rediss://h:6379"}) {
        auto parsed = parse_redis_url(url);
        ASSERT_FALSE(parsed) << url;
        EXPECT_EQ(parsed.error().code, core::Errc::InvalidRequest) << url;
    }
    EXPECT_NE(parse_redis_url("rediss://h:1").error().message.find("TLS"), std::string::npos);
}

} // namespace
} // namespace cdn::kv
