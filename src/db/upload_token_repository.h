#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/** One row of `upload_tokens`: a presigned upload (to the local store through the API, or
 *  straight to an S3 bucket), single use, bound to a customer, a path, a content type and a
 *  size. */
struct UploadTokenRecord {
    /** The lookup key: callers store a hash of the secret token, never the token itself. */
    std::string id;
    std::string customer_id;
    std::string path;
    std::string content_type;
    std::int64_t max_bytes = 0;
    /** Unix seconds. */
    std::int64_t created_at = 0;
    /** Unix seconds: the token works strictly before this second. */
    std::int64_t expires_at = 0;
    /** Unix seconds: set once, by the one upload that consumed it. */
    std::optional<std::int64_t> used_at;
    /** What names the upload to its customer (`POST /uploads/{upload_id}/complete`); not a
     *  credential. */
    std::string upload_id = {};
    /** The answer of the upload's completion (JSON), once it has completed. */
    std::optional<std::string> completion = {};
};

/** Upload tokens. Works on a Database or on a transaction handle. */
class UploadTokenRepository {
public:
    explicit UploadTokenRepository(Database& db) : db_(db) {}

    /** Errc::Conflict when the id exists; the customer must exist (foreign key). */
    core::Result<void> insert(const UploadTokenRecord& token);

    /** The token whatever its state (used, expired); nullopt when unknown. */
    core::Result<std::optional<UploadTokenRecord>> find(std::string_view id);

    /** The customer's upload named `upload_id`, whatever its state; nullopt when unknown (or
     *  another customer's). */
    core::Result<std::optional<UploadTokenRecord>> find_upload(std::string_view customer_id,
                                                               std::string_view upload_id);

    /** Records the completed upload's answer (in the transaction that stored its row). */
    core::Result<void> set_completion(std::string_view id, std::string_view completion);

    /** Up to `limit` tokens with an upload id that expired before `before`, completed or not:
     *  whatever is staged for them now will never be completed (a completed upload's URL may
     *  have been used again before it expired). */
    core::Result<std::vector<UploadTokenRecord>> expired_uploads(std::int64_t before,
                                                                 std::size_t limit);

    /** Deletes one token. */
    core::Result<void> remove(std::string_view id);

    /** True when the token is known, unused and unexpired at `now`. */
    static bool usable(const UploadTokenRecord& token, std::int64_t now);

    /**
     * Marks the token used at `now` if it is unused and unexpired, in one conditional UPDATE,
     * so that of any number of concurrent uploads (on any node) exactly one wins. False when it
     * is unknown, used or expired.
     */
    core::Result<bool> consume(std::string_view id, std::int64_t now);

    /** consume() for a completion, which may come up to `grace` seconds after the URL expired
     *  (the PUT itself was in time: the store checked the URL's expiry). */
    core::Result<bool> consume_within(std::string_view id, std::int64_t now, std::int64_t grace);

    /** Gives a consumed token back (its upload failed after consuming it, before storing
     *  anything), so that the client may retry while it is unexpired. */
    core::Result<void> release(std::string_view id, std::int64_t used_at);

    /** Deletes the tokens that expired before `before` (used or not); how many. */
    core::Result<std::int64_t> remove_expired(std::int64_t before);

private:
    Database& db_;
};

} // namespace cdn::db
