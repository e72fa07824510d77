#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "storage/blob_store.h"

namespace cdn::storage {

/** A ListObjectsV2 answer (ListBucketResult): its objects, and whether more follow. */
struct S3ListResult {
    std::vector<ObjectInfo> items;
    bool truncated = false;
};

/** Parses a ListBucketResult document. Errors: origin_unavailable when it is not one. */
core::Result<S3ListResult> parse_list_result(std::string_view xml);

/** `{Code}: {Message}` of an S3 <Error> document, or "" when the body is not one. */
std::string parse_error_summary(std::string_view xml);

/** The UploadId of an InitiateMultipartUploadResult document; "" when it has none. */
std::string parse_upload_id(std::string_view xml);

/** The ETag of a CompleteMultipartUploadResult document (quoted as S3 gives it). */
std::string parse_complete_etag(std::string_view xml);

/** The CompleteMultipartUpload document for parts 1..N with these ETags (quoted as S3 gave). */
std::string complete_multipart_xml(const std::vector<std::string>& part_etags);

/** Unix seconds of an ISO 8601 UTC time ("2013-09-17T18:07:53.000Z"); 0 when malformed. */
std::int64_t parse_iso8601(std::string_view text);

/** Unix seconds of an HTTP date ("Wed, 12 Oct 2009 17:50:00 GMT"); 0 when malformed. */
std::int64_t parse_http_date(std::string_view text);

/** An ETag without its quotes. */
std::string unquote_etag(std::string_view etag);

} // namespace cdn::storage
