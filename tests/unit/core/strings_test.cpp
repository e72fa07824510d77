#include "core/strings.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/random.h"

namespace cdn::core {

TEST(Strings, ParseIntAcceptsOnlyWholeNumbers) {
    EXPECT_EQ(parse_int("42"), 42);
    EXPECT_EQ(parse_int("-7"), -7);
    EXPECT_FALSE(parse_int(""));
    EXPECT_FALSE(parse_int("4x"));
    EXPECT_FALSE(parse_int("99999999999999999999999"));
}

TEST(Strings, HttpDateIsImfFixdate) {
    EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(rfc3339(784111777), "1994-11-06T08:49:37Z");
}

TEST(Strings, JsonEscapeQuotesAndControls) {
    EXPECT_EQ(json_escape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
}

TEST(Hash, Hash128IsStableHex) {
    const auto h = hash128_hex("imagecdn");
    EXPECT_EQ(h.size(), 32u);
    EXPECT_EQ(h, hash128_hex("imagecdn"));
    EXPECT_NE(h, hash128_hex("imagecdn2"));
}

TEST(Random, Base62TokensHaveLengthAndAlphabet) {
    const auto t = random_base62(40);
    ASSERT_EQ(t.size(), 40u);
    for (char c : t) {
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
    }
    EXPECT_NE(t, random_base62(40));
}

TEST(Error, TableMapsCodesAndStatuses) {
    EXPECT_EQ(code_name(Errc::UnknownCustomer), "unknown_customer");
    EXPECT_EQ(http_status(Errc::UnknownCustomer), 404u);
    EXPECT_EQ(http_status(Errc::UriTooLong), 414u);
    EXPECT_EQ(code_name(Errc::Internal), "internal_error");
}

TEST(PercentDecode, DecodesEscapesOfEitherCase) {
    EXPECT_EQ(percent_decode("a%2fb%2Fc", false), "a/b/c");
    EXPECT_EQ(percent_decode("%41%42", false), "AB");
    EXPECT_EQ(percent_decode("", false), "");
    EXPECT_EQ(percent_decode("%00", false), std::string(1, '\0'));
    EXPECT_EQ(percent_decode("%ff", false), std::string(1, '\xff'));
}

TEST(PercentDecode, PlusIsSpaceOnlyWhenAsked) {
    EXPECT_EQ(percent_decode("a+b%2B", true), "a b+");
    EXPECT_EQ(percent_decode("a+b%2B", false), "a+b+");
}

TEST(PercentDecode, RefusesMalformedEscapes) {
    for (const char* in : {"%", "%4", "a%4", "%g1", "%1g", "%%41", "abc%"}) {
        EXPECT_FALSE(percent_decode(in, true)) << in;
    }
}

TEST(ParseQueryString, SplitsAndDecodesPairsInOrder) {
    const auto params = parse_query_string("w=800&fm=web%70&q=&name=a+b%26c&w=2");
    ASSERT_TRUE(params);
    const QueryParams expected{
        {"w", "800"}, {"fm", "webp"}, {"q", ""}, {"name", "a b&c"}, {"w", "2"}};
    EXPECT_EQ(*params, expected);
}

TEST(ParseQueryString, SkipsEmptyPartsAndKeepsBareNames) {
    const auto params = parse_query_string("&&flag&x=1&");
    ASSERT_TRUE(params);
    const QueryParams expected{{"flag", ""}, {"x", "1"}};
    EXPECT_EQ(*params, expected);
    EXPECT_EQ(parse_query_string(""), QueryParams{});
}

TEST(ParseQueryString, SplitsOnTheFirstEqualsOnly) {
    const auto params = parse_query_string("a=b=c&%3D=%3D");
    ASSERT_TRUE(params);
    const QueryParams expected{{"a", "b=c"}, {"=", "="}};
    EXPECT_EQ(*params, expected);
}

TEST(ParseQueryString, RefusesAMalformedEscapeInNameOrValue) {
    EXPECT_FALSE(parse_query_string("w=%G0"));
    EXPECT_FALSE(parse_query_string("w%=1"));
    EXPECT_FALSE(parse_query_string("ok=1&bad=%2"));
}

} // namespace cdn::core
