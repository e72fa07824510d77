#include "kv/node_announcement.h"

#include <gtest/gtest.h>

namespace cdn::kv {
namespace {

TEST(NodeAnnouncement, RoundTripsAndRefusesAnythingElse) {
    const NodeAnnouncement node{.id = "3f2a",
                                .role = "edge",
                                .version = "0.19.0",
                                .started_at = 1'700'000'000,
                                .listen = "10.0.0.2:8080",
                                .host = "edge-1",
                                .config_fingerprint = "0123456789abcdef"};
    EXPECT_EQ(decode_announcement(encode_announcement(node)).value(), node);
    EXPECT_FALSE(decode_announcement("not json"));
    EXPECT_FALSE(decode_announcement(R"({"id":"x"})"));
    EXPECT_FALSE(decode_announcement("[]"));
}

} // namespace
} // namespace cdn::kv
