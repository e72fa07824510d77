#include "security/url_signing.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cdn::security {
namespace {

using core::Errc;

constexpr std::int64_t NOW = 1'800'000'000;
constexpr std::string_view SECRET = "secret";
constexpr std::string_view PATH = "/pk_abc/products/item-001.png";

core::Result<void> verify(std::string_view path, std::string_view raw_query,
                          std::string_view secret = SECRET, std::int64_t now = NOW) {
    return verify_signature(SignatureCheck{path, raw_query, secret, now});
}

/** The raw query that a request for `signed_url` (a path) carries. */
std::string query_of(const std::string& signed_url) {
    const auto q = signed_url.find('?');
    return q == std::string::npos ? std::string{} : signed_url.substr(q + 1);
}

std::string sign(std::string_view url, std::string_view secret = SECRET) {
    auto result = sign_url(url, secret);
    EXPECT_TRUE(result) << url;
    return result ? *result : std::string{};
}

void expect_error(const core::Result<void>& result, Errc code) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, code) << result.error().message;
}

TEST(UrlSigning, Rfc4231KnownAnswer) {
    // RFC 4231 test case 2: the message is the path alone when the query is empty.
    EXPECT_EQ(sign_path_and_query("what do ya want for nothing?", "", "Jefe"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(UrlSigning, KnownAnswerFromOpenssl) {
    // printf '%s' '/pk_abc/products/item-001.png?w=800&h=600&fit=cover' |
    //   openssl dgst -sha256 -hmac secret
    EXPECT_EQ(sign_path_and_query(PATH, "w=800&h=600&fit=cover", SECRET),
              "409825c829752f61824cc01d0ab814f2ea08c4d426b627776222400ff8e1af3b");
    EXPECT_EQ(sign_path_and_query(PATH, "", SECRET),
              "374f2951d1398c14514714055b55b771a3ee0b6f9d37c5990d8fb326e31a0e05");
}

TEST(UrlSigning, SignUrlAppendsSAsLastParameter) {
    EXPECT_EQ(sign("/a.png"), "/a.png?s=" + sign_path_and_query("/a.png", "", SECRET));
    EXPECT_EQ(sign("/a.png?w=1"), "/a.png?w=1&s=" + sign_path_and_query("/a.png", "w=1", SECRET));
    EXPECT_EQ(sign("https://cdn.example.com/a.png?w=1"),
              "https://cdn.example.com/a.png?w=1&s=" +
                  sign_path_and_query("/a.png", "w=1", SECRET));
}

TEST(UrlSigning, SignUrlRefusesBadInput) {
    for (const auto* url :
         {"/a.png?s=abc", "/a.png?w=1&sig=abc", "/a.png?s", "a.png", "//cdn.example.com/a.png", "",
          "https://cdn.example.com", "https://cdn.example.com?w=1", "https:///a.png",
          "ftp://x/a.png", "/a b.png", "/caf\xc3\xa9.png", "/a.png?bg=\"red\""}) {
        const auto result = sign_url(url, SECRET);
        ASSERT_FALSE(result) << url;
        EXPECT_EQ(result.error().code, Errc::InvalidParameter) << url;
    }
    EXPECT_FALSE(sign_url("/a.png", ""));
}

TEST(UrlSigning, RoundTrip) {
    const std::vector<std::string> urls = {"/pk_abc/a.png", "/pk_abc/a.png?w=800",
                                           "/pk_abc/a.png?w=1&h=2&exp=" + std::to_string(NOW + 60)};
    for (const auto& url : urls) {
        const auto signed_url = sign(url);
        const auto q = signed_url.find('?');
        EXPECT_TRUE(verify(signed_url.substr(0, q), signed_url.substr(q + 1))) << signed_url;
    }
}

TEST(UrlSigning, MissingSignature) {
    const auto result = verify(PATH, "w=800");
    expect_error(result, Errc::InvalidSignature);
    EXPECT_EQ(result.error().message, "this URL must be signed");
    expect_error(verify(PATH, ""), Errc::InvalidSignature);
    expect_error(verify(PATH, "ss=abc&signature=abc"), Errc::InvalidSignature);
}

TEST(UrlSigning, SignatureMustBeLast) {
    const auto good = query_of(sign(std::string(PATH) + "?w=800"));
    const auto s = good.substr(good.find("s="));
    expect_error(verify(PATH, s + "&w=800"), Errc::InvalidSignature);
    expect_error(verify(PATH, "w=800&" + s + "&h=10"), Errc::InvalidSignature);
    // Appending anything after a valid signature breaks it, even an empty parameter.
    expect_error(verify(PATH, good + "&"), Errc::InvalidSignature);
}

TEST(UrlSigning, SignatureTwice) {
    const auto good = query_of(sign(std::string(PATH) + "?w=800"));
    const auto s = good.substr(good.find("s="));
    expect_error(verify(PATH, s + "&" + good), Errc::InvalidSignature);
    expect_error(verify(PATH, "w=800&" + s + "&sig=" + s.substr(2)), Errc::InvalidSignature);
}

TEST(UrlSigning, SigAlias) {
    const auto hex = sign_path_and_query(PATH, "w=800", SECRET);
    EXPECT_TRUE(verify(PATH, "w=800&sig=" + hex));
    EXPECT_TRUE(verify(PATH, "sig=" + sign_path_and_query(PATH, "", SECRET)));
}

TEST(UrlSigning, OnlyParameterSignsThePathAlone) {
    EXPECT_TRUE(verify(PATH, "s=" + sign_path_and_query(PATH, "", SECRET)));
}

TEST(UrlSigning, TamperedQueryOrPath) {
    const auto good = query_of(sign(std::string(PATH) + "?w=800&h=600"));
    EXPECT_TRUE(verify(PATH, good));
    std::string tampered = good;
    tampered.replace(tampered.find("w=800"), 5, "w=801");
    expect_error(verify(PATH, tampered), Errc::InvalidSignature);
    expect_error(verify(PATH, "w=800&h=600&x=1" + good.substr(good.find("&s="))),
                 Errc::InvalidSignature);
    expect_error(verify("/pk_abc/products/item-002.png", good), Errc::InvalidSignature);
    expect_error(verify("/pk_xyz/products/item-001.png", good), Errc::InvalidSignature);
}

TEST(UrlSigning, TamperedSignatureValue) {
    const auto good = query_of(sign(std::string(PATH) + "?w=800"));
    auto upper = good;
    for (auto i = upper.find("s=") + 2; i < upper.size(); ++i) {
        upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
    }
    expect_error(verify(PATH, upper),
                 Errc::InvalidSignature); // lowercase hex only
    expect_error(verify(PATH, good.substr(0, good.size() - 1)), Errc::InvalidSignature);
    expect_error(verify(PATH, "w=800&s="), Errc::InvalidSignature);
    expect_error(verify(PATH, "w=800&s"), Errc::InvalidSignature);
}

TEST(UrlSigning, WrongSecret) {
    const auto good = query_of(sign(std::string(PATH) + "?w=800"));
    expect_error(verify(PATH, good, "other"), Errc::InvalidSignature);
    // An empty secret fails closed, even for a signature made with the empty key.
    expect_error(verify(PATH, "w=800&s=" + sign_path_and_query(PATH, "w=800", ""), ""),
                 Errc::InvalidSignature);
}

TEST(UrlSigning, Expiry) {
    const auto future = query_of(sign(std::string(PATH) + "?w=1&exp=" + std::to_string(NOW + 1)));
    EXPECT_TRUE(verify(PATH, future));
    expect_error(verify(PATH, future, SECRET, NOW + 1),
                 Errc::SignatureExpired); // exp == now
    expect_error(verify(PATH, future, SECRET, NOW + 3600), Errc::SignatureExpired);

    const auto past = query_of(sign(std::string(PATH) + "?exp=" + std::to_string(NOW - 1)));
    const auto expired = verify(PATH, past);
    expect_error(expired, Errc::SignatureExpired);
    EXPECT_EQ(expired.error().message, "this signed URL has expired");

    expect_error(verify(PATH, query_of(sign(std::string(PATH) + "?exp=tomorrow"))),
                 Errc::SignatureExpired);
    expect_error(verify(PATH, query_of(sign(std::string(PATH) + "?exp="))), Errc::SignatureExpired);
}

TEST(UrlSigning, TamperedExpIsASignatureErrorNotAnExpiry) {
    // The signature is checked first, so moving exp forward is invalid_signature.
    const auto past = query_of(sign(std::string(PATH) + "?w=1&exp=" + std::to_string(NOW - 10)));
    std::string extended = past;
    extended.replace(extended.find(std::to_string(NOW - 10)), 10, std::to_string(NOW + 999));
    expect_error(verify(PATH, extended), Errc::InvalidSignature);
    // Adding exp to a URL signed without one is tampering too.
    const auto good = query_of(sign(std::string(PATH) + "?w=1"));
    expect_error(verify(PATH, "exp=" + std::to_string(NOW + 60) + "&" + good),
                 Errc::InvalidSignature);
}

TEST(UrlSigning, QueryIsSignedExactlyAsSent) {
    const auto good = query_of(sign(std::string(PATH) + "?w=800&h=600"));
    const auto s = good.substr(good.find("&s="));
    expect_error(verify(PATH, "h=600&w=800" + s), Errc::InvalidSignature);
    expect_error(verify(PATH, "w=800&&h=600" + s), Errc::InvalidSignature);
}

TEST(UrlSigning, PercentEncodingIsSignedAsSent) {
    const std::string path = "/pk_abc/caf%C3%A9%20menu.png";
    const auto good = query_of(sign(path + "?bg=%23ff8800"));
    EXPECT_TRUE(verify(path, good));
    EXPECT_EQ(good.substr(0, good.find("&s=")), "bg=%23ff8800");
    expect_error(verify("/pk_abc/caf%c3%a9%20menu.png", good), Errc::InvalidSignature);
    expect_error(verify("/pk_abc/café menu.png", good), Errc::InvalidSignature);
    std::string decoded = good;
    decoded.replace(0, 12, "bg=#ff8800");
    expect_error(verify(path, decoded), Errc::InvalidSignature);
}

// The shared vectors of tests/vectors/signed_urls.json, also checked by the JS helper. A minimal
// parser: a flat array of objects whose values are all strings.
class FlatJsonParser {
public:
    explicit FlatJsonParser(std::string text) : text_(std::move(text)) {}

    std::optional<std::vector<std::map<std::string, std::string>>> parse() {
        std::vector<std::map<std::string, std::string>> rows;
        if (!consume('[')) {
            return std::nullopt;
        }
        if (consume(']')) {
            return rows;
        }
        do {
            std::map<std::string, std::string> row;
            if (!consume('{')) {
                return std::nullopt;
            }
            do {
                auto key = string();
                if (!key || !consume(':')) {
                    return std::nullopt;
                }
                auto value = string();
                if (!value) {
                    return std::nullopt;
                }
                row[*key] = *value;
            } while (consume(','));
            if (!consume('}')) {
                return std::nullopt;
            }
            rows.push_back(std::move(row));
        } while (consume(','));
        if (!consume(']')) {
            return std::nullopt;
        }
        skip_space();
        return pos_ == text_.size() ? std::optional(rows) : std::nullopt;
    }

private:
    void skip_space() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
            ++pos_;
        }
    }
    bool consume(char c) {
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    std::optional<std::string> string() {
        if (!consume('"')) {
            return std::nullopt;
        }
        std::string out;
        while (pos_ < text_.size()) {
            const char c = text_[pos_++];
            if (c == '"') {
                return out;
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_.size()) {
                return std::nullopt;
            }
            const char e = text_[pos_++];
            if (e == '"' || e == '\\' || e == '/') {
                out += e;
            } else {
                return std::nullopt; // the vectors need no other escapes
            }
        }
        return std::nullopt;
    }

    std::string text_;
    std::size_t pos_ = 0;
};

TEST(UrlSigning, SharedVectors) {
    // From the source dir, not __FILE__: ccache's base_dir makes __FILE__ relative to the build.
    const auto file = std::filesystem::path(IMAGECDN_SOURCE_DIR) / "tests/vectors/signed_urls.json";
    std::ifstream in(file);
    ASSERT_TRUE(in) << "cannot open " << file;
    std::stringstream buffer;
    buffer << in.rdbuf();
    const auto vectors = FlatJsonParser(buffer.str()).parse();
    ASSERT_TRUE(vectors) << "cannot parse " << file;
    ASSERT_GE(vectors->size(), 5u);
    for (const auto& vector : *vectors) {
        const auto& url = vector.at("url");
        const auto& expected = vector.at("signed");
        const auto result = sign_url(url, vector.at("secret"));
        ASSERT_TRUE(result) << url << ": " << result.error().message;
        EXPECT_EQ(*result, expected) << url;

        // And the edge accepts what was signed (exp in the vectors is ignored here).
        auto rest = expected;
        if (const auto scheme = rest.find("://"); scheme != std::string::npos) {
            rest = rest.substr(rest.find('/', scheme + 3));
        }
        rest = rest.substr(0, rest.find('#'));
        const auto q = rest.find('?');
        EXPECT_TRUE(verify(rest.substr(0, q), rest.substr(q + 1), vector.at("secret"), 0)) << url;
    }
}

// RFC 4231 test cases 2 and 6: a short key, and a key longer than the block, which is hashed.
TEST(UrlSigning, HmacMatchesRfc4231) {
    EXPECT_EQ(sign_path_and_query("what do ya want for nothing?", "", "Jefe"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(sign_path_and_query("Test Using Larger Than Block-Size Key - Hash Key First", "",
                                  std::string(131, '\xaa')),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

} // namespace
} // namespace cdn::security
