// Uploads through a presigned URL, then `POST /api/v1/uploads/{upload_id}/complete` (api.md
// "Images"): one contract for both stores, run against a real `imagecdn serve` on the local
// store and on `kind = "s3"` (s3rver behind the SigV4-verifying proxy). Each test does what the
// dashboard's upload.ts does: PUT the bytes to the returned URL with the returned headers, then
// complete. On S3 the PUT goes to the bucket itself, to a staging key that nothing lists or
// delivers until the completion has checked the object and moved it to the customer's path.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.h"
#include "raw_http.h"
#include "s3rver_process.h"
#include "server_process.h"
#include "sql_file.h"
#include "storage/s3_blob_store.h"
#include "temp_dir.h"
#include "transform/engine.h"

namespace cdn::test {
namespace {

using Headers = std::map<std::string, std::string>;

enum class Store { Local, S3 };

std::string store_name(const ::testing::TestParamInfo<Store>& info) {
    return info.param == Store::Local ? "Local" : "S3";
}

/** A path with the characters S3 escapes (space, `+`, unicode, `%`), and its URL form. */
const std::string kPath = "flow/a b+é%.png";
const std::string kEncoded = "flow/a%20b%2B%C3%A9%25.png";

struct Size {
    int width = 0;
    int height = 0;
};

Size size_of(const std::string& bytes) {
    const auto info = transform::probe_source(bytes, transform::Limits{});
    EXPECT_TRUE(info) << info.error().message;
    return info ? Size{static_cast<int>(info->width), static_cast<int>(info->height)} : Size{};
}

class DirectUploadTest : public ::testing::TestWithParam<Store> {
protected:
    void SetUp() override {
        if (GetParam() == Store::S3) {
            s3_ = std::make_unique<S3rverProcess>();
        }
        customer_ = create_account(dir_.path(), "direct@example.com");
        server_ = std::make_unique<ServerProcess>(dir_.path(), env());
        ASSERT_TRUE(server_->start()) << server_->stderr_text();
    }

    Headers env() const {
        if (!s3_) {
            return {};
        }
        return {{"IMAGECDN_STORAGE_KIND", "s3"},
                {"IMAGECDN_STORAGE_ENDPOINT", s3_->endpoint()},
                {"IMAGECDN_STORAGE_BUCKET", s3_->bucket()},
                {"IMAGECDN_STORAGE_REGION", "eu-west-3"},
                {"IMAGECDN_STORAGE_ACCESS_KEY", S3rverProcess::kAccessKey},
                {"IMAGECDN_STORAGE_SECRET_KEY", S3rverProcess::kSecretKey}};
    }

    /** The bucket as the test sees it, not through the server. */
    std::unique_ptr<storage::S3BlobStore> bucket() const {
        auto options = s3_->client_options();
        options.region = "eu-west-3"; // as the server signs
        return *storage::S3BlobStore::create(options);
    }

    RawResponse issue(const std::string& path, const std::string& type, std::size_t size,
                      const Account* owner = nullptr) {
        return api_call(server_->port(), "POST", "/api/v1/images/upload-url",
                        (owner ? *owner : customer_).api_key,
                        R"({"path":")" + path + R"(","content_type":")" + type +
                            R"(","size":)" + std::to_string(size) + "}");
    }

    /** A client's PUT to an absolute http://127.0.0.1:PORT/... URL (this server or the bucket). */
    static RawResponse put_to(const std::string& url, const std::string& type,
                              const std::string& bytes) {
        const std::string scheme = "http://127.0.0.1:";
        EXPECT_EQ(url.rfind(scheme, 0), 0U) << url;
        const auto slash = url.find('/', scheme.size());
        const int port = std::stoi(url.substr(scheme.size(), slash - scheme.size()));
        // Host with its port, as a browser sends it: S3 signs it.
        auto res = http_request(port, "PUT", url.substr(slash),
                                {{"Host", url.substr(7, slash - 7)}, {"Content-Type", type}},
                                bytes);
        EXPECT_TRUE(res) << url;
        return res ? *res : RawResponse{};
    }

    /** What upload.ts does with an upload-url answer: PUT with the headers it names. */
    static RawResponse send(const RawResponse& issued, const std::string& bytes) {
        EXPECT_EQ(json_string(issued.body, "method"), "PUT") << issued.body;
        return put_to(json_string(issued.body, "url"), json_string(issued.body, "Content-Type"),
                      bytes);
    }

    RawResponse complete(const std::string& upload_id, const Account* owner = nullptr) {
        return api_call(server_->port(), "POST", "/api/v1/uploads/" + upload_id + "/complete",
                        (owner ? *owner : customer_).api_key);
    }

    /** upload-url, PUT, complete: the completion's answer. */
    RawResponse upload(const std::string& path, const std::string& type,
                       const std::string& bytes) {
        const auto issued = issue(path, type, bytes.size());
        EXPECT_EQ(issued.status, 200) << issued.body;
        const auto sent = send(issued, bytes);
        EXPECT_EQ(sent.status / 100, 2) << sent.body;
        return complete(json_string(issued.body, "upload_id"));
    }

    RawResponse edge(const std::string& path_and_query) {
        auto res = http_request(server_->port(), "GET",
                                "/" + customer_.public_key + "/" + path_and_query);
        EXPECT_TRUE(res);
        return res ? *res : RawResponse{};
    }

    RawResponse images(const std::string& method, const std::string& path = "") {
        return api_call(server_->port(), method,
                        "/api/v1/images" + (path.empty() ? "" : "/" + path), customer_.api_key);
    }

    std::unique_ptr<S3rverProcess> s3_;
    TempDir dir_;
    Account customer_;
    std::unique_ptr<ServerProcess> server_;
};

// upload-url → PUT → complete → served and resized → replaced (variants purged) → deleted.
TEST_P(DirectUploadTest, UploadIsServedResizedReplacedAndDeleted) {
    const auto& png = sample_png();
    const auto& jpeg = sample_jpeg();
    const Size png_size = size_of(png);
    const Size jpeg_size = size_of(jpeg);
    ASSERT_NE(png_size.height * jpeg_size.width, jpeg_size.height * png_size.width);
    EXPECT_EQ(edge(kEncoded).status, 404); // a cached 404, purged by the completion

    const auto issued = issue(kPath, "image/png", png.size());
    ASSERT_EQ(issued.status, 200) << issued.body;
    const auto upload_id = json_string(issued.body, "upload_id");
    ASSERT_EQ(upload_id.rfind("up_", 0), 0U) << issued.body;
    EXPECT_FALSE(json_string(issued.body, "expires_at").empty());
    const auto sent = send(issued, png);
    ASSERT_EQ(sent.status / 100, 2) << sent.body;
    const auto done = complete(upload_id);
    ASSERT_EQ(done.status, 201) << done.body << server_->stderr_text();
    EXPECT_EQ(json_string(done.body, "path"), kPath);
    EXPECT_EQ(json_string(done.body, "format"), "png");
    EXPECT_NE(done.body.find("\"size\":" + std::to_string(png.size())), std::string::npos);
    EXPECT_NE(done.body.find("\"width\":" + std::to_string(png_size.width)), std::string::npos);
    EXPECT_FALSE(json_string(done.body, "etag").empty());
    // Completing again answers the same.
    const auto again = complete(upload_id);
    EXPECT_EQ(again.status, 201);
    EXPECT_EQ(again.body, done.body);

    EXPECT_EQ(edge(kEncoded).body, png);
    const auto small = edge(kEncoded + "?w=40");
    ASSERT_EQ(small.status, 200) << small.body;
    EXPECT_EQ(size_of(small.body).width, 40);
    EXPECT_EQ(size_of(small.body).height, (40 * png_size.height + png_size.width / 2) /
                                              png_size.width);
    EXPECT_NE(images("GET").body.find(kPath), std::string::npos);
    if (s3_) {
        EXPECT_EQ(bucket()->get(customer_.public_key + "/" + kPath)->bytes, png);
        EXPECT_EQ(bucket()->head("_uploads/" + upload_id).error().code, core::Errc::NotFound);
    }

    // A second upload replaces it: the cached variant is purged, the new bytes are served.
    const auto replaced = upload(kPath, "image/jpeg", jpeg);
    ASSERT_EQ(replaced.status, 201) << replaced.body;
    EXPECT_EQ(json_string(replaced.body, "format"), "jpeg");
    EXPECT_EQ(edge(kEncoded).body, jpeg);
    const auto resized = edge(kEncoded + "?w=40");
    ASSERT_EQ(resized.status, 200);
    EXPECT_EQ(size_of(resized.body).height,
              (40 * jpeg_size.height + jpeg_size.width / 2) / jpeg_size.width);
    EXPECT_EQ(complete(upload_id).body, done.body) << "an upload's answer is what it stored";

    EXPECT_EQ(images("DELETE", kEncoded).status, 204);
    EXPECT_EQ(edge(kEncoded).status, 404);
    EXPECT_EQ(edge(kEncoded + "?w=40").status, 404);
    if (s3_) {
        EXPECT_EQ(bucket()->head(customer_.public_key + "/" + kPath).error().code,
                  core::Errc::NotFound);
    }
}

TEST_P(DirectUploadTest, CompletingNothingOrSomeoneElsesUploadIsRefused) {
    const auto issued = issue("a.png", "image/png", sample_png().size());
    ASSERT_EQ(issued.status, 200) << issued.body;
    const auto upload_id = json_string(issued.body, "upload_id");
    const auto early = complete(upload_id);
    EXPECT_EQ(early.status, 409) << early.body;
    EXPECT_EQ(error_code(early), "conflict");
    EXPECT_EQ(complete("up_unknown").status, 404);
    const auto other = create_account(dir_.path(), "other@example.com");
    ASSERT_EQ(send(issued, sample_png()).status / 100, 2);
    EXPECT_EQ(complete(upload_id, &other).status, 404);
    EXPECT_EQ(complete(upload_id).status, 201);
}

// Bytes that are not an image: refused with 415, and nothing of them stays in the store.
TEST_P(DirectUploadTest, ANonImageIsRefusedAndRemoved) {
    const std::string text(sample_png().size(), 't');
    const auto issued = issue("fake.png", "image/png", text.size());
    ASSERT_EQ(issued.status, 200) << issued.body;
    const auto upload_id = json_string(issued.body, "upload_id");
    const auto sent = send(issued, text);
    if (s3_) {
        // The bucket takes any bytes of the signed size and type: the completion checks them.
        ASSERT_EQ(sent.status, 200) << sent.body;
        ASSERT_TRUE(bucket()->head("_uploads/" + upload_id));
        const auto refused = complete(upload_id);
        EXPECT_EQ(refused.status, 415) << refused.body;
        EXPECT_EQ(error_code(refused), "unsupported_media_type");
        EXPECT_EQ(bucket()->head("_uploads/" + upload_id).error().code, core::Errc::NotFound);
        EXPECT_TRUE(bucket()->list("", "", 10)->items.empty());
    } else {
        EXPECT_EQ(sent.status, 415) << sent.body; // the local store checks as the PUT arrives
        EXPECT_EQ(complete(upload_id).status, 409);
    }
    EXPECT_EQ(edge("fake.png").status, 404);
    EXPECT_EQ(images("GET", "fake.png").status, 404);
}

INSTANTIATE_TEST_SUITE_P(Stores, DirectUploadTest, ::testing::Values(Store::Local, Store::S3),
                         store_name);

/** What only S3 has: an object in the store before the completion. */
class S3DirectUploadTest : public DirectUploadTest {};

TEST_P(S3DirectUploadTest, AnUploadIsNeitherListedNorDeliveredBeforeItsCompletion) {
    const auto& png = sample_png();
    const auto issued = issue("hidden.png", "image/png", png.size());
    const auto url = json_string(issued.body, "url");
    EXPECT_EQ(url.rfind(s3_->endpoint() + "/" + s3_->bucket() + "/_uploads/up_", 0), 0U) << url;
    EXPECT_NE(url.find("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"),
              std::string::npos)
        << url;
    ASSERT_EQ(send(issued, png).status, 200);
    EXPECT_EQ(images("GET").body.find("hidden.png"), std::string::npos);
    EXPECT_EQ(images("GET", "hidden.png").status, 404);
    EXPECT_EQ(edge("hidden.png").status, 404);
    EXPECT_EQ(bucket()->head(customer_.public_key + "/hidden.png").error().code,
              core::Errc::NotFound);

    // Nor under its staging key: `_uploads` is no customer's public key.
    const auto upload_id = json_string(issued.body, "upload_id");
    EXPECT_EQ(http_request(server_->port(), "GET", "/_uploads/" + upload_id).value().status, 404);

    EXPECT_EQ(complete(upload_id).status, 201);
    EXPECT_NE(images("GET").body.find("hidden.png"), std::string::npos);
    EXPECT_EQ(edge("hidden.png").body, png);
}

// The URL signs the type and size, so the bucket refuses others; a store that did not check
// would keep them, and then the completion refuses the object (422) and deletes it.
TEST_P(S3DirectUploadTest, AnObjectOtherThanDeclaredIsRefusedAndRemoved) {
    const auto& png = sample_png();
    const auto issued = issue("declared.png", "image/png", png.size());
    const auto url = json_string(issued.body, "url");
    EXPECT_EQ(put_to(url, "image/jpeg", png).status, 403);
    EXPECT_EQ(put_to(url, "image/png", png + "xx").status, 403);
    const std::string staged = "_uploads/" + json_string(issued.body, "upload_id");
    EXPECT_EQ(bucket()->head(staged).error().code, core::Errc::NotFound);

    struct Case {
        std::string type;
        std::string bytes;
    };
    for (const auto& wrong : {Case{"image/png", png + "xx"}, Case{"image/jpeg", png}}) {
        const auto declared = issue("declared.png", "image/png", png.size());
        const auto upload_id = json_string(declared.body, "upload_id");
        const auto lax = bucket()->presign_put("_uploads/" + upload_id, wrong.type,
                                               wrong.bytes.size(), 60);
        ASSERT_TRUE(lax);
        ASSERT_EQ(put_to(lax->url, wrong.type, wrong.bytes).status, 200);
        const auto refused = complete(upload_id);
        EXPECT_EQ(refused.status, 422) << refused.body;
        EXPECT_EQ(error_code(refused), "upload_mismatch");
        EXPECT_EQ(bucket()->head("_uploads/" + upload_id).error().code, core::Errc::NotFound);
    }
    EXPECT_EQ(images("GET", "declared.png").status, 404);
}

// The quota is checked when the URL is issued (advisory) and again at the completion, which
// reserves the bytes: uploads issued together cannot all squeeze under it.
TEST_P(S3DirectUploadTest, AnUploadOverTheStorageQuotaIsRefusedAtCompletionAndRemoved) {
    const auto& png = sample_png();
    server_->stop();
    auto quota = env();
    quota["IMAGECDN_PLANS_FREE_STORAGE_QUOTA_BYTES"] = std::to_string(png.size() * 2 + 10);
    server_ = std::make_unique<ServerProcess>(dir_.path(), quota);
    ASSERT_TRUE(server_->start()) << server_->stderr_text();
    std::vector<std::string> ids;
    for (const auto* path : {"q1.png", "q2.png", "q3.png"}) {
        const auto issued = issue(path, "image/png", png.size());
        ASSERT_EQ(issued.status, 200) << issued.body;
        ASSERT_EQ(send(issued, png).status, 200);
        ids.push_back(json_string(issued.body, "upload_id"));
    }
    EXPECT_EQ(complete(ids[0]).status, 201);
    EXPECT_EQ(complete(ids[1]).status, 201);
    const auto over = complete(ids[2]);
    EXPECT_EQ(over.status, 402) << over.body;
    EXPECT_EQ(error_code(over), "storage_quota_exceeded");
    EXPECT_EQ(bucket()->head("_uploads/" + ids[2]).error().code, core::Errc::NotFound);
    EXPECT_EQ(images("GET", "q3.png").status, 404);
}

// Completions of one upload racing each other: one stores it, the others answer 409 (retry) or
// the same 201; afterwards every completion answers what was stored.
TEST_P(S3DirectUploadTest, ConcurrentCompletionsStoreOnceAndAgreeAfterwards) {
    const auto& png = sample_png();
    const auto issued = issue("race.png", "image/png", png.size());
    ASSERT_EQ(send(issued, png).status, 200);
    const auto upload_id = json_string(issued.body, "upload_id");
    std::vector<RawResponse> answers(4);
    std::vector<std::thread> racers;
    for (auto& answer : answers) {
        racers.emplace_back([&] { answer = complete(upload_id); });
    }
    for (auto& racer : racers) {
        racer.join();
    }
    const auto final = complete(upload_id);
    ASSERT_EQ(final.status, 201) << final.body;
    for (const auto& answer : answers) {
        EXPECT_TRUE(answer.status == 201 || answer.status == 409) << answer.body;
        if (answer.status == 201) {
            EXPECT_EQ(answer.body, final.body);
        }
    }
    EXPECT_EQ(edge("race.png").body, png);
    EXPECT_EQ(bucket()->list("", "", 10)->items.size(), 1U) << "the original only";
}

// What is staged for an upload never completed is deleted when its token is swept (by an
// upload-url request, 24 h after the URL expired); an upload completed is left alone until then.
TEST_P(S3DirectUploadTest, StagedObjectsOfExpiredUploadsAreSwept) {
    const auto& png = sample_png();
    const auto left = issue("left.png", "image/png", png.size());
    ASSERT_EQ(send(left, png).status, 200);
    const std::string staged = "_uploads/" + json_string(left.body, "upload_id");
    ASSERT_TRUE(bucket()->head(staged));
    EXPECT_EQ(issue("other.png", "image/png", png.size()).status, 200);
    EXPECT_TRUE(bucket()->head(staged)) << "not expired yet";

    sql_exec(dir_.path(), "UPDATE upload_tokens SET expires_at = expires_at - $1 WHERE upload_id = $2",
             {std::int64_t{25 * 3600}, json_string(left.body, "upload_id")});
    EXPECT_EQ(issue("next.png", "image/png", png.size()).status, 200);
    EXPECT_EQ(bucket()->head(staged).error().code, core::Errc::NotFound);
    EXPECT_EQ(sql_integer(dir_.path(), "SELECT COUNT(*) FROM upload_tokens"), 2);
}

INSTANTIATE_TEST_SUITE_P(Stores, S3DirectUploadTest, ::testing::Values(Store::S3), store_name);

} // namespace
} // namespace cdn::test
