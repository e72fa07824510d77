#pragma once

#include "storage/blob_store.h"
#include "storage/s3_client.h"

namespace cdn::storage {

/**
 * Originals in a bucket of an S3-compatible store (AWS S3, MinIO, Ceph RGW, Cloudflare R2),
 * through the S3 API alone, signed with SigV4 (storage/sigv4.h).
 *
 * - get() refuses an object over `max_object_bytes` while reading it (source_too_large): from
 *   its Content-Length before the body, or as the body passes the cap.
 * - put() is one PUT, or above `multipart_threshold_bytes` a multipart upload aborted if any
 *   step fails: either way S3 makes it atomic (readers see the old or the new object, and a
 *   failed upload leaves the old one). Unlike the local store, a key may both be an object and
 *   a "folder" of others (`a` and `a/b`).
 * - remove() answers not_found for a missing object (S3's DELETE does not say): it asks HEAD
 *   first, so a concurrent put between the two may be deleted, as if it came first.
 * - list() is ListObjectsV2 with `start-after` = `after`: the continuation is the last key.
 * - ETags are S3's (the MD5 of a single-PUT object), unquoted; list() carries them too.
 * - move() is CopyObject (server-side: the bytes do not pass through this process; atomic for
 *   readers of `to`), then DELETE of `from`.
 * - presign_put() signs Host, Content-Type and Content-Length into a query-signed URL
 *   (UNSIGNED-PAYLOAD), so S3 refuses a PUT of another type or size.
 */
class S3BlobStore final : public BlobStore {
public:
    /** Errors: invalid_path when the endpoint or bucket is missing. Nothing is sent. */
    static core::Result<std::unique_ptr<S3BlobStore>> create(S3Options options);

    core::Result<Object> get(std::string_view key) override;
    core::Result<ObjectInfo> head(std::string_view key) override;
    core::Result<ObjectInfo> put(std::string_view key, std::string_view bytes) override;
    core::Result<ObjectInfo> move(std::string_view from, std::string_view to) override;
    std::optional<PresignedPut> presign_put(std::string_view key, std::string_view content_type,
                                            std::uint64_t size,
                                            std::int64_t expires_seconds) const override;
    core::Result<void> remove(std::string_view key) override;
    core::Result<ListPage> list(std::string_view prefix, std::string_view after,
                                std::size_t limit) override;
    core::Result<void> check() override;
    /** imagecdn_store_* families: attempts, breaker refusals and state, connections opened
     *  and bytes received (S3Client::Stats). */
    void write_metrics(core::MetricWriter& writer) const override;

    /** A presigned URL for `method` ("GET", "PUT") on `key`, valid `expires` seconds. */
    std::string presigned_url(std::string_view method, std::string_view key,
                              std::int64_t expires) const;

private:
    explicit S3BlobStore(S3Options options) : client_(std::move(options)) {}

    core::Result<ObjectInfo> put_multipart(std::string_view key, std::string_view bytes);
    /** PUTs the parts and completes the upload; the caller aborts it on an error. */
    core::Result<S3Answer> upload_parts(const std::string& key, const std::string& upload_id,
                                        std::string_view bytes);

    S3Client client_;
};

} // namespace cdn::storage
