#include "storage/sigv4.h"

#include <gtest/gtest.h>

#include "core/hash.h"

namespace cdn::storage::sigv4 {
namespace {

// The worked examples of AWS's S3 documentation ("Signature Calculations for the Authorization
// Header" and "Authenticating Requests: Using Query Parameters"): bucket examplebucket,
// us-east-1, 2013-05-24.
const Credentials kExample{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                           "us-east-1"};
constexpr std::string_view kDate = "20130524T000000Z";
constexpr std::string_view kHost = "examplebucket.s3.amazonaws.com";
const std::string kEmptyHash = core::sha256_hex("");

std::string signature_of(const std::string& authorization) {
    return authorization.substr(authorization.find("Signature=") + 10);
}

Request example_get(std::string path, std::vector<std::pair<std::string, std::string>> query) {
    return Request{"GET", std::move(path), std::move(query),
                   {{"Host", std::string(kHost)},
                    {"x-amz-content-sha256", kEmptyHash},
                    {"x-amz-date", std::string(kDate)}},
                   kEmptyHash};
}

TEST(SigV4, AwsGetObjectExample) {
    Request request = example_get("/test.txt", {});
    request.headers.emplace_back("Range", "bytes=0-9");
    EXPECT_EQ(canonical_request(request),
              "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
              "x-amz-content-sha256:" +
                  kEmptyHash + "\nx-amz-date:20130524T000000Z\n\n"
                               "host;range;x-amz-content-sha256;x-amz-date\n" +
                  kEmptyHash);
    const std::string header = authorization(kExample, request, kDate);
    EXPECT_EQ(header, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                      "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                      "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, AwsPutObjectExampleEncodesTheDollarInThePath) {
    const std::string body_hash = core::sha256_hex("Welcome to Amazon S3.");
    const Request request{"PUT",
                          "/test$file.text",
                          {},
                          {{"Host", std::string(kHost)},
                           {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                           {"x-amz-date", std::string(kDate)},
                           {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                           {"x-amz-content-sha256", body_hash}},
                          body_hash};
    EXPECT_NE(canonical_request(request).find("\n/test%24file.text\n"), std::string::npos);
    EXPECT_EQ(signature_of(authorization(kExample, request, kDate)),
              "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, AwsGetLifecycleExampleSignsAnEmptyQueryValue) {
    const Request request = example_get("/", {{"lifecycle", ""}});
    EXPECT_EQ(signature_of(authorization(kExample, request, kDate)),
              "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, AwsListObjectsExampleSortsTheQuery) {
    const Request request = example_get("/", {{"prefix", "J"}, {"max-keys", "2"}});
    EXPECT_EQ(signature_of(authorization(kExample, request, kDate)),
              "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, AwsPresignedUrlExample) {
    const Request request{"GET", "/test.txt", {}, {{"Host", std::string(kHost)}}, ""};
    EXPECT_EQ(presigned_query(kExample, request, kDate, 86400),
              "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524"
              "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
              "&X-Amz-SignedHeaders=host&X-Amz-Signature="
              "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

// AWS's generic Signature Version 4 test suite, "get-vanilla" (service "service").
TEST(SigV4, AwsTestSuiteGetVanilla) {
    const Credentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                  "us-east-1", "service"};
    const Request request{"GET",
                          "/",
                          {},
                          {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
                          kEmptyHash};
    EXPECT_EQ(signature_of(authorization(credentials, request, "20150830T123600Z")),
              "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, UriEncodingFollowsAwsRules) {
    EXPECT_EQ(uri_encode("a b+c~d_e-f.g", false), "a%20b%2Bc~d_e-f.g");
    EXPECT_EQ(uri_encode("100%/é", true), "100%25/%C3%A9");
    EXPECT_EQ(uri_encode("a/b", false), "a%2Fb");
    EXPECT_EQ(uri_encode("/already%20encoded", true), "/already%2520encoded");
}

TEST(SigV4, HeaderValuesAreTrimmedAndSpacesCollapsed) {
    const Request request{"GET", "/", {}, {{"Host", "h"}, {"X-Odd", "  a   b  c "}}, "x"};
    EXPECT_EQ(canonical_request(request), "GET\n/\n\nhost:h\nx-odd:a b c\n\nhost;x-odd\nx");
}

TEST(SigV4, AmzDateIsUtc) {
    EXPECT_EQ(amz_date(1369353600), "20130524T000000Z");
}

} // namespace
} // namespace cdn::storage::sigv4
