#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "api/common/json.h"
#include "core/result.h"
#include "db/customer_repository.h"
#include "db/original_repository.h"
#include "db/storage_reservation_repository.h"
#include "db/upload_token_repository.h"
#include "transform/media_type.h"

namespace cdn::api::images {

/** The content types an upload may declare (`POST /images/upload-url`, the presigned PUT):
 *  delivery.md's input formats, as their canonical MIME type (`image/jpg` → `image/jpeg`,
 *  parameters and case ignored); nullopt for anything else. */
std::optional<std::string_view> canonical_image_type(std::string_view content_type);

/** The format name ("jpeg", ...) of a stored content type; "unknown" for another. */
std::string_view format_of_type(std::string_view content_type);

/** api.md's rules for a path (400 invalid_path): storage::validate_key, at most `max_segments`
 *  segments ([storage] max_path_segments), and no `.tmp-` segment (the local store's temporary
 *  files). */
core::Result<void> validate_path(std::string_view path, std::size_t max_segments);

/** What the content check learnt about an upload. */
struct CheckedImage {
    transform::ImageFormat format = transform::ImageFormat::Unknown;
    /** As displayed, i.e. after EXIF auto-orientation (which the edge always applies). */
    std::uint32_t width = 0;
    std::uint32_t height = 0;
};

/**
 * Checks an upload by content, never by name: magic bytes, then a header decode with the
 * server's limits. Not an image, or a format not accepted (BMP, PDF, text...) or a header that
 * does not decode → 415 unsupported_media_type; pixels or frames over the limits → 413
 * payload_too_large. Blocking (libvips): call on the blocking pool.
 */
core::Result<CheckedImage> check_content(std::string_view bytes, const transform::Limits& limits);

/** The largest original the plan accepts, capped by the server's hard limit. */
std::uint64_t max_original_bytes(const account::Plan& plan, const transform::Limits& limits);

/** How long after its URL expired an upload may still be completed: its PUT was in time (the
 *  store checked the URL's expiry), the client may be slower to say so. */
inline constexpr std::int64_t COMPLETION_GRACE_SECONDS = 15 * 60;

/** An image as the API answers it: {path, size, width, height, format, content_type, etag,
 *  created_at, updated_at}. */
json::object image_json(const db::OriginalRecord& original);

/** The outcome of a put: the row as stored and whether the path was new. */
struct StoredOriginal {
    db::OriginalRecord record;
    bool created = false;
};

/**
 * A customer's originals: the object store holds the bytes at `{public_key}/{path}`, the
 * `originals` table what the API lists. Every method blocks (database, store, libvips): call on
 * the blocking pool.
 *
 * Writes are coordinated through the database, so that they stay correct with several API
 * nodes (db::StorageReservationRepository): a write first reserves its path and its bytes in
 * one transaction that also checks the storage quota (counting every write in progress on any
 * node) and uses up a presigned upload's token, so two uploads cannot both pass the quota nor
 * both use one token, and two writes of one path never overlap (the row always describes the
 * version the store holds). The store write comes next and is atomic (temporary object, then
 * rename): a failed or interrupted upload leaves the previous version, and its row, intact.
 * Then one transaction writes the row and ends the reservation. A replaced or deleted original
 * has its cached variants purged on every edge node.
 */
class Originals {
public:
    explicit Originals(ApiDeps& deps) : deps_(deps) {}

    /**
     * Checks and stores `bytes` at `path` for the customer. `token`, for a presigned upload: it
     * must match the content (content type) and is consumed atomically with the reservation,
     * just before the store write, and given back if that write fails. Errors: invalid_path,
     * payload_too_large, unsupported_media_type, storage_quota_exceeded, forbidden (token
     * already used or expired), conflict (the path crosses an existing object, `a` vs `a/b`, or
     * another write of the path is still in progress after a wait), unavailable.
     */
    core::Result<StoredOriginal> put(std::string_view customer_id, std::string_view path,
                                     std::string_view bytes,
                                     const db::UploadTokenRecord* token = nullptr);

    /**
     * Completes an upload straight to the store (`upload` is its unused token): the object
     * staged at staging_key() must be what the URL was made for (else upload_mismatch), then
     * passes every check put() makes, and is moved to the customer's path under the same
     * reservation, quota and purge as put(). A rejected object (upload_mismatch,
     * unsupported_media_type, payload_too_large, storage_quota_exceeded) is deleted from the
     * store; after conflict or unavailable it stays, for a retry. Nothing staged: conflict.
     */
    core::Result<StoredOriginal> complete(const db::UploadTokenRecord& upload);

    /** The original's row; not_found when the path has none. */
    core::Result<db::OriginalRecord> find(std::string_view customer_id, std::string_view path);

    /** Deletes the object and its row and purges its variants; not_found when neither existed. */
    core::Result<void> remove(std::string_view customer_id, std::string_view path);

    /** Checks a presigned upload's declaration before it is issued: path, size against the
     *  plan, storage quota (as if `size` bytes replaced the current version). */
    core::Result<void> check_declared(const db::CustomerRecord& customer, std::string_view path,
                                      std::uint64_t size);

private:
    /** What a write reserves: the bytes it may add (checked against the quota), or none for a
     *  delete; the presigned upload's token to use up, if any. */
    struct Claim {
        std::optional<std::uint64_t> bytes;
        const db::UploadTokenRecord* token = nullptr;
        /** Seconds past the token's expiry it may still be used (a completion). */
        std::int64_t token_grace = 0;
    };
    /** The step of a write that puts the bytes in the store (a put, or a staged upload's
     *  move). */
    using StoreStep = std::function<core::Result<storage::ObjectInfo>()>;

    /** The customer, once `path` is a valid path and store key for it. */
    core::Result<db::CustomerRecord> writer(std::string_view customer_id, std::string_view path);
    /** What put() checks of the bytes: the plan's size, the content, and the token's type. */
    core::Result<CheckedImage> check_upload(const db::CustomerRecord& customer,
                                            std::string_view bytes,
                                            const db::UploadTokenRecord* token);
    /** The staged object's bytes, once its HEAD shows the size and type declared. */
    core::Result<std::string> read_staged(const db::UploadTokenRecord& upload);
    core::Result<StoredOriginal> complete_staged(const db::CustomerRecord& customer,
                                                 const db::UploadTokenRecord& upload);

    /** storage_quota_exceeded unless `size` bytes at `path` fit the plan's quota beside what
     *  the customer's other paths hold at most (their originals and writes in progress). */
    core::Result<void> check_quota(db::Database& db, const db::CustomerRecord& customer,
                                   std::string_view path, std::uint64_t size, std::int64_t now);
    /** Reserves `path` for a write starting at `now`, using up the token: the token, the path
     *  and the quota are decided in one transaction. A path another write holds is a conflict
     *  at once, not a wait: a wait would hold a thread every tenant's requests share. */
    core::Result<db::StorageReservation> reserve(const db::CustomerRecord& customer,
                                                 std::string_view path, Claim claim,
                                                 std::int64_t now);
    /** Gives a reservation back after a failed write, and the token it used up, if any. */
    void give_back(const db::StorageReservation& reservation, const db::UploadTokenRecord* token,
                   std::int64_t used_at);
    /** Writes `out.record` as the reserved path's row and ends the reservation, in one
     *  transaction, which also records the answer as the token's completion; sets
     *  `out.created` and the record's `created_at`. */
    core::Result<void> save_row(const db::StorageReservation& reservation,
                                const db::UploadTokenRecord* token, StoredOriginal& out);
    /** Deletes the reserved path's row and ends the reservation, in one transaction; whether
     *  there was a row. */
    core::Result<bool> drop_row(const db::StorageReservation& reservation);
    core::Result<StoredOriginal> write(const db::CustomerRecord& customer, std::string_view path,
                                       std::uint64_t size, const CheckedImage& image,
                                       Claim claim, const StoreStep& store);

    ApiDeps& deps_;
};

/** The store key of a customer's original. */
std::string store_key(std::string_view public_key, std::string_view path);

/** Where an upload straight to the store is staged until it completes: `_uploads/{upload_id}`,
 *  outside every customer's folder (public keys start with `pk_`), so that nothing delivers or
 *  lists it. */
std::string staging_key(std::string_view upload_id);

} // namespace cdn::api::images
