// form_encode: Stripe's request bodies (application/x-www-form-urlencoded, bracketed keys).
#include <gtest/gtest.h>

#include "billing/stripe_client.h"

namespace cdn::billing {
namespace {

TEST(StripeForm, EmptyFieldsEncodeToNothing) { EXPECT_EQ(form_encode({}), ""); }

TEST(StripeForm, JoinsPairsInOrderWithAmpersands) {
    EXPECT_EQ(form_encode({{"b", "2"}, {"a", "1"}, {"c", ""}}), "b=2&a=1&c=");
}

TEST(StripeForm, KeepsOnlyTheRfc3986UnreservedCharacters) {
    EXPECT_EQ(form_encode({{"k", "AZaz09-._~"}}), "k=AZaz09-._~");
    EXPECT_EQ(form_encode({{"k", "a b+c&d=e/f?g#h%i"}}), "k=a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25i");
}

TEST(StripeForm, EncodesBracketsInKeysAsStripesLibrariesDo) {
    EXPECT_EQ(form_encode({{"metadata[customer_id]", "42"}}), "metadata%5Bcustomer_id%5D=42");
    EXPECT_EQ(form_encode({{"line_items[0][price]", "price_pro"}}),
              "line_items%5B0%5D%5Bprice%5D=price_pro");
}

TEST(StripeForm, EncodesUrlsAndEmailsAsValues) {
    EXPECT_EQ(form_encode({{"email", "a.b+c@example.com"}}), "email=a.b%2Bc%40example.com");
    EXPECT_EQ(form_encode({{"success_url", "https://x.test/ok?s={CHECKOUT_SESSION_ID}&a=1"}}),
              "success_url=https%3A%2F%2Fx.test%2Fok%3Fs%3D%7BCHECKOUT_SESSION_ID%7D%26a%3D1");
}

TEST(StripeForm, EncodesUtf8ByteByByteInUppercaseHex) {
    EXPECT_EQ(form_encode({{"name", "Zoë ✓"}}), "name=Zo%C3%AB%20%E2%9C%93");
}

TEST(StripeForm, EncodesControlCharactersAndNul) {
    EXPECT_EQ(form_encode({{"k", std::string("a\r\n\0b", 5)}}), "k=a%0D%0A%00b");
}

} // namespace
} // namespace cdn::billing
