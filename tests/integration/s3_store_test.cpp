// A server on `[storage] kind = "s3"`: s3rver behind the SigV4-verifying proxy
// (tests/support/s3rver_process.h), so every request the server makes to the store has its
// signature checked by the AWS SDK's signer. Uploads through the API land in the bucket, the
// edge serves them and their variants from it, and a delete removes them from it.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "core/strings.h"
#include "fixtures.h"
#include "raw_http.h"
#include "s3rver_process.h"
#include "server_process.h"
#include "storage/s3_blob_store.h"
#include "temp_dir.h"
#include "transform/engine.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;

class S3StoreServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        customer_ = create_account(dir_.path(), "s3@example.com");
        server_ = std::make_unique<ServerProcess>(dir_.path(), env());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    Headers env(const std::string& secret = S3rverProcess::kSecretKey) const {
        return {{"IMAGECDN_STORAGE_KIND", "s3"},
                {"IMAGECDN_STORAGE_ENDPOINT", s3_.endpoint()},
                {"IMAGECDN_STORAGE_BUCKET", s3_.bucket()},
                {"IMAGECDN_STORAGE_REGION", "eu-west-3"},
                {"IMAGECDN_STORAGE_ACCESS_KEY", S3rverProcess::kAccessKey},
                {"IMAGECDN_STORAGE_SECRET_KEY", secret}};
    }

    /** The bucket as the test sees it, not through the server. */
    std::unique_ptr<storage::S3BlobStore> bucket() const {
        auto options = s3_.client_options();
        options.region = "eu-west-3"; // as the server signs
        return *storage::S3BlobStore::create(options);
    }

    RawResponse request(const std::string& method, const std::string& target,
                        const Headers& headers = {}, const std::string& body = {}) {
        auto res = http_request(server_->port(), method, target, headers, body);
        EXPECT_TRUE(res) << method << " " << target;
        return res ? *res : RawResponse{};
    }

    S3rverProcess s3_;
    TempDir dir_;
    Account customer_;
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(S3StoreServerTest, UploadedOriginalsAreStoredInTheBucketServedResizedAndDeleted) {
    const auto& png = sample_png();
    const std::string path = "products/a b+é.png";
    const std::string encoded = "products/a%20b%2B%C3%A9.png";
    const auto uploaded = api_call(server_->port(), "PUT", "/api/v1/images/" + encoded,
                                   customer_.api_key, png,
                                   {{"Content-Type", "application/octet-stream"}});
    ASSERT_EQ(uploaded.status, 201) << uploaded.body << server_->stderr_text();
    const auto stored = bucket()->get(customer_.public_key + "/" + path);
    ASSERT_TRUE(stored) << stored.error().detail;
    EXPECT_EQ(stored->bytes, png);

    const auto original = request("GET", "/" + customer_.public_key + "/" + encoded);
    ASSERT_EQ(original.status, 200) << original.body;
    EXPECT_EQ(original.body, png);
    // The bucket's Last-Modified is the original's, carried to the edge's answer.
    const auto head = bucket()->head(customer_.public_key + "/" + path);
    ASSERT_TRUE(head);
    EXPECT_EQ(original.header("last-modified"), core::http_date(head->last_modified));
    const auto variant = request("GET", "/" + customer_.public_key + "/" + encoded + "?w=40");
    ASSERT_EQ(variant.status, 200) << variant.body;
    const auto info = transform::probe_source(variant.body, transform::Limits{});
    ASSERT_TRUE(info);
    EXPECT_EQ(info->width, 40);

    const auto listed = api_call(server_->port(), "GET", "/api/v1/images", customer_.api_key);
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_NE(listed.body.find("products/a b+é.png"), std::string::npos) << listed.body;

    const auto deleted = api_call(server_->port(), "DELETE", "/api/v1/images/" + encoded,
                                  customer_.api_key);
    EXPECT_EQ(deleted.status, 204) << deleted.body;
    EXPECT_EQ(bucket()->head(customer_.public_key + "/" + path).error().code,
              core::Errc::NotFound);
    EXPECT_EQ(request("GET", "/" + customer_.public_key + "/" + encoded).status, 404);
}

// The proxy refuses a wrong signature, so a server with the wrong secret stores nothing: since
// the start-up check (operations.md), it does not even start (exit 1; S3OutageTest covers the
// message and the other ways a store cannot be used).
TEST_F(S3StoreServerTest, AServerWithTheWrongSecretCannotStore) {
    server_->stop();
    server_ = std::make_unique<ServerProcess>(dir_.path(), env("not-the-secret"));
    EXPECT_FALSE(server_->start());
    EXPECT_EQ(server_->stop(), 1) << server_->stderr_text();
    EXPECT_EQ(bucket()->head(customer_.public_key + "/x.png").error().code, core::Errc::NotFound);
}

} // namespace
} // namespace cdn::test
