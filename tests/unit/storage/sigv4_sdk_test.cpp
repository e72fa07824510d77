// Our signer against the AWS SDK's (@aws-sdk/s3-request-presigner, pinned in tests/s3): the
// SDK presigns a URL for the same inputs; we sign its request again and must get its query.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "storage/sigv4.h"

namespace cdn::storage::sigv4 {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

std::string shell_quote(const std::string& text) {
    std::string out = "'";
    for (const char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

std::string sdk_presigned_url(const std::vector<std::string>& args) {
    std::string command = "node " + shell_quote(IMAGECDN_SOURCE_DIR "/tests/s3/presign.mjs");
    for (const auto& arg : args) {
        command += ' ' + shell_quote(arg);
    }
    const std::unique_ptr<FILE, decltype(&pclose)> pipe(popen((command + " 2>/dev/null").c_str(),
                                                              "r"),
                                                        &pclose);
    std::string out;
    char buffer[4096];
    while (pipe && fgets(buffer, sizeof buffer, pipe.get()) != nullptr) {
        out += buffer;
    }
    return out.substr(0, out.find('\n'));
}

std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

Params split_query(std::string_view query) {
    Params params;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        params.emplace_back(percent_decode(pair.substr(0, eq)), percent_decode(pair.substr(eq + 1)));
        query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    }
    std::sort(params.begin(), params.end());
    return params;
}

struct Case {
    std::string method, endpoint, region, bucket, key;
    bool path_style;
};

class SigV4AgainstSdk : public ::testing::TestWithParam<Case> {};

TEST_P(SigV4AgainstSdk, PresignedUrlMatchesTheAwsSdk) {
    const Case& c = GetParam();
    const std::string url = sdk_presigned_url({c.method, c.endpoint, c.region, c.bucket, c.key,
                                               "1369353600", "900",
                                               c.path_style ? "true" : "false"});
    ASSERT_FALSE(url.empty()) << "node tests/s3/presign.mjs failed (npm ci --prefix tests/s3?)";
    const auto host_start = url.find("://") + 3;
    const auto path_start = url.find('/', host_start);
    const auto query_start = url.find('?');
    const std::string raw_path = url.substr(path_start, query_start - path_start);
    const Params sdk = split_query(std::string_view(url).substr(query_start + 1));

    Request request{c.method, percent_decode(raw_path), {},
                    {{"host", url.substr(host_start, path_start - host_start)}}, ""};
    EXPECT_EQ(uri_encode(request.path, true), raw_path) << "the path is encoded as the SDK does";
    for (const auto& [name, value] : sdk) {
        if (!name.starts_with("X-Amz-") || name == "X-Amz-Content-Sha256") {
            request.query.emplace_back(name, value);
        }
    }
    const Credentials credentials{"AKIAIOSFODNN7EXAMPLE",
                                  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", c.region};
    EXPECT_EQ(split_query(presigned_query(credentials, request, "20130524T000000Z", 900)), sdk);
}

INSTANTIATE_TEST_SUITE_P(
    Keys, SigV4AgainstSdk,
    ::testing::Values(
        Case{"GET", "http://127.0.0.1:9000", "us-east-1", "bucket", "pk/plain.jpg", true},
        Case{"GET", "http://127.0.0.1:9000", "us-east-1", "bucket", "pk/a b+c/é%.jpg", true},
        Case{"PUT", "http://127.0.0.1:9000", "auto", "originals", "pk/~x (1).png", true},
        Case{"GET", "https://s3.eu-west-3.amazonaws.com", "eu-west-3", "bucket",
             "pk/ünï cødé+%2F.webp", false},
        Case{"PUT", "https://s3.eu-west-3.amazonaws.com", "eu-west-3", "bucket", "pk/x=y&z.jpg",
             false}));

} // namespace
} // namespace cdn::storage::sigv4
