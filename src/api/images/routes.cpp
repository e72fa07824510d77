// api.md "Images": originals stored at `{public_key}/{path}` in the object store, listed from
// the `originals` table.
//
// Choices the spec leaves open:
// - `PUT /images/{path}` answers 201 when the path was new and 200 when it replaced an original.
// - `POST /images/upload-url` answers 200 (it creates no resource one could GET). On the local
//   store the URL is `{public_base_url}/api/v1/uploads/{token}`: a random 40-character token,
//   stored only as its SHA-256, valid 15 minutes, bound to the customer, path, content type and
//   size (the body may be smaller, never larger). A failed upload leaves it usable until it
//   expires; a successful one uses it up.
// - With a store that takes presigned PUTs (S3), the URL is one on the bucket itself, SigV4
//   query-signed over Host, Content-Type and Content-Length, for the key
//   `_uploads/{upload_id}` (images::staging_key): outside every customer's folder, so nothing
//   lists or delivers the object until `POST /api/v1/uploads/{upload_id}/complete` has checked
//   it as a direct PUT would and moved it to `{public_key}/{path}` (Originals::complete).
//   Completing before anything was uploaded, or while another completion of the same upload
//   runs → 409 conflict; more than 15 minutes after the URL expired → 403 forbidden; an
//   unknown upload_id (or another customer's) → 404. Once completed (also with the local
//   store, whose PUT completes it), `complete` answers 201 with the image as recorded then.
//   Whatever is staged for an upload (never completed, or PUT again after completing) is
//   deleted by upload-url requests when its token is swept, 24 h after it expired, a few per
//   request.
// - `PUT /api/v1/uploads/{token}` (public: the token is the credential): an unknown, expired or
//   used token → 403 forbidden; a Content-Type other than the bound one, or content that is not
//   of the bound type → 415 unsupported_media_type; a body over the bound size → 413
//   payload_too_large. Then the same checks as a direct PUT (the plan and quota again, since
//   they may have changed).
// - Writes of one path (upload or delete, on any API node) take turns: a second one waits for the
//   first, up to 15 s, then is answered 409 conflict (retry). See docs/architecture.md "Several
//   API nodes on one database".
// - Bad query parameters of the listing (limit outside 1..1000, a cursor not issued by us) →
//   400 invalid_parameter naming the parameter in `error.field`.
// - Image objects: {path, size, width, height, format, content_type, etag, created_at,
//   updated_at}; width and height are as displayed (after EXIF orientation), etag unquoted.
#include "api/images/routes.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "api/common/customer_json.h"
#include "api/common/json.h"
#include "api/images/originals.h"
#include "core/random.h"
#include "core/strings.h"
#include "db/original_repository.h"
#include "db/upload_token_repository.h"
#include "security/hmac.h"
#include "security/keys.h"
#include "storage/key.h"

namespace cdn::api {
namespace {

using images::image_json;
using images::Originals;

constexpr std::int64_t UPLOAD_URL_TTL_SECONDS = 15 * 60;
constexpr std::size_t DEFAULT_PAGE = 100;
constexpr std::int64_t MAX_PAGE = 1000;
/** Tokens are kept this long after they expire (a late attempt still gets "expired"). */
constexpr std::int64_t EXPIRED_TOKEN_RETENTION_SECONDS = 24 * 3600;
/** Abandoned staged uploads deleted, at most, by one upload-url request. */
constexpr std::size_t SWEEP_BATCH = 20;
/** Longer than any valid path, so that an overlong one is answered invalid_path, not 422. */
constexpr std::size_t MAX_PATH_FIELD_BYTES = 64 * 1024;

/** The stored form of an upload token: its SHA-256, so a database read cannot upload. */
std::string token_id(std::string_view token) { return security::hash_api_key(token); }

http::Response stored_response(const images::StoredOriginal& stored) {
    return json_response(stored.created ? 201 : 200, image_json(stored.record));
}

core::Error invalid_parameter(std::string name, std::string message) {
    return core::make_field_error(core::Errc::InvalidParameter, std::move(name),
                                  std::move(message));
}

struct ListQuery {
    std::string prefix;
    std::string after;
    std::size_t limit = DEFAULT_PAGE;
};

core::Result<ListQuery> parse_list_query(std::string_view query) {
    auto params = core::parse_query_string(query);
    if (!params) {
        return invalid_parameter("query", "the query string has a malformed escape");
    }
    ListQuery out;
    for (const auto& [name, value] : *params) {
        if (name == "prefix") {
            // Not a path (a prefix may end in the middle of a segment), but it is compared with
            // paths: the same byte limits apply.
            if (value.size() > storage::MAX_KEY_BYTES ||
                std::any_of(value.begin(), value.end(), [](char c) {
                    return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
                })) {
                return invalid_parameter("prefix", "prefix: at most 1024 bytes, no control "
                                                   "characters");
            }
            out.prefix = value;
        } else if (name == "cursor") {
            if (!value.empty() && (!security::base64url_decode(value, out.after) ||
                                   out.after.empty())) {
                return invalid_parameter("cursor", "cursor: not a cursor this API returned");
            }
        } else if (name == "limit") {
            const auto limit = core::parse_int(value);
            if (!limit || *limit < 1 || *limit > MAX_PAGE) {
                return invalid_parameter("limit", "limit: an integer from 1 to 1000");
            }
            out.limit = static_cast<std::size_t>(*limit);
        }
    }
    return out;
}

core::Result<http::Response> list_images(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(query, parse_list_query(req.http.query));
    // One more than asked: whether another page follows, without a count.
    CDN_TRY(rows, db::OriginalRepository(deps.db).list(req.caller().customer_id, query.prefix,
                                                       query.after, query.limit + 1));
    json::value next_cursor = nullptr;
    if (rows.size() > query.limit) {
        rows.resize(query.limit);
        next_cursor = json::string(security::base64url_encode(rows.back().path));
    }
    json::array items;
    items.reserve(rows.size());
    for (const auto& row : rows) {
        items.emplace_back(image_json(row));
    }
    return json_response(200, json::object{{"items", std::move(items)},
                                           {"next_cursor", std::move(next_cursor)}});
}

/** The body of POST /images/upload-url, the content type in its canonical form. */
struct UploadUrlRequest {
    std::string path;
    std::string_view content_type;
    std::int64_t size = 0;
};

core::Result<UploadUrlRequest> read_upload_url_request(const http::Request& request) {
    CDN_TRY(body, JsonBody::read(request, {"path", "content_type", "size"}));
    CDN_TRY(path, body.string("path", 1, MAX_PATH_FIELD_BYTES));
    CDN_TRY(declared_type, body.string("content_type", 1, 255));
    CDN_TRY(size, body.integer("size", 1, std::numeric_limits<std::int64_t>::max()));
    const auto content_type = images::canonical_image_type(declared_type);
    if (!content_type) {
        return invalid_field(
            "content_type",
            "not an image type this service accepts (image/jpeg, image/png, image/webp, "
            "image/avif, image/heic, image/gif, image/svg+xml, image/tiff, image/jxl)",
            core::Errc::UnsupportedMediaType);
    }
    return UploadUrlRequest{.path = std::move(path), .content_type = *content_type, .size = size};
}

/** Housekeeping on the way: tokens long expired are of no use to anyone, nor is what was
 *  staged for them (a few at a time, so that this stays cheap; a token whose staged object
 *  cannot be deleted now stays for a later sweep; the operations guide adds a bucket lifecycle
 *  rule as a backstop). */
void sweep_expired_uploads(ApiDeps& deps, std::int64_t now) {
    db::UploadTokenRepository tokens(deps.db);
    const auto before = now - EXPIRED_TOKEN_RETENTION_SECONDS;
    const auto expired = tokens.expired_uploads(before, SWEEP_BATCH);
    if (!expired) {
        return;
    }
    for (const auto& token : *expired) {
        const auto removed = deps.store.remove(images::staging_key(token.upload_id));
        if (!removed && removed.error().code != core::Errc::NotFound) {
            return;
        }
        static_cast<void>(tokens.remove(token.id));
    }
    if (expired->size() < SWEEP_BATCH) {
        static_cast<void>(tokens.remove_expired(before)); // tokens from before upload ids
    }
}

/** A new upload token bound to the customer and the request, valid UPLOAD_URL_TTL_SECONDS. */
core::Result<db::UploadTokenRecord> issue_upload_token(ApiDeps& deps,
                                                       const db::CustomerRecord& customer,
                                                       const UploadUrlRequest& request,
                                                       const std::string& token) {
    const auto now = deps.clock.unix_seconds();
    sweep_expired_uploads(deps, now);
    db::UploadTokenRepository tokens(deps.db);
    db::UploadTokenRecord record{
        .id = token_id(token),
        .customer_id = customer.id,
        .path = request.path,
        .content_type = std::string(request.content_type),
        .max_bytes = request.size,
        .created_at = now,
        .expires_at = now + UPLOAD_URL_TTL_SECONDS,
        .used_at = std::nullopt,
        .upload_id = "up_" + core::random_base62(24),
    };
    CDN_TRY_VOID(tokens.insert(record));
    return record;
}

core::Result<http::Response> create_upload_url(ApiDeps& deps, Originals& originals,
                                               ApiRequest& req) {
    CDN_TRY(request, read_upload_url_request(req.http));
    CDN_TRY(customer, caller_customer(deps, req));
    CDN_TRY_VOID(
        originals.check_declared(customer, request.path, static_cast<std::uint64_t>(request.size)));
    const auto token = "ut_" + core::random_base62(40);
    CDN_TRY(record, issue_upload_token(deps, customer, request, token));
    // Straight to the store where it takes presigned PUTs (S3), staged until completed; else
    // through this server, which checks and stores as the PUT arrives.
    auto target = deps.store.presign_put(images::staging_key(record.upload_id),
                                         request.content_type,
                                         static_cast<std::uint64_t>(request.size),
                                         UPLOAD_URL_TTL_SECONDS);
    if (!target) {
        target = storage::PresignedPut{deps.config.url_for("/api/v1/uploads/" + token),
                                       {{"Content-Type", std::string(request.content_type)}}};
    }
    json::object headers;
    for (const auto& [name, value] : target->headers) {
        headers[name] = value;
    }
    return json_response(200, json::object{
                                  {"url", target->url},
                                  {"method", "PUT"},
                                  {"headers", std::move(headers)},
                                  {"expires_at", core::rfc3339(record.expires_at)},
                                  {"upload_id", record.upload_id},
                              });
}

/** The caller's upload that the request names; not_found for an unknown one. */
core::Result<db::UploadTokenRecord> caller_upload(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(found, db::UploadTokenRepository(deps.db).find_upload(req.caller().customer_id,
                                                                  req.param("upload_id")));
    if (!found) {
        return core::make_error(core::Errc::NotFound, "no upload with this id");
    }
    return std::move(*found);
}

/** The answer of an upload whose token is used: what its completion recorded, or a conflict
 *  while a completion (or, with the local store, its PUT) is still storing it. */
core::Result<http::Response> recorded_completion(const db::UploadTokenRecord& upload) {
    if (!upload.completion) {
        return core::make_error(core::Errc::Conflict,
                                "this upload is being completed; retry in a moment");
    }
    boost::system::error_code ec;
    auto answer = json::parse(*upload.completion, ec);
    if (ec) {
        return core::make_error(core::Errc::Internal, "an upload's completion is unreadable",
                                upload.upload_id + ": " + ec.message());
    }
    return json_response(201, answer);
}

/** POST /uploads/{upload_id}/complete: the answer recorded when the upload completed (with
 *  the local store, when its PUT stored it), or the staged object checked and stored now. */
core::Result<http::Response> complete_upload(ApiDeps& deps, Originals& originals,
                                             ApiRequest& req) {
    CDN_TRY(upload, caller_upload(deps, req));
    if (upload.used_at) {
        return recorded_completion(upload);
    }
    if (deps.clock.unix_seconds() >= upload.expires_at + images::COMPLETION_GRACE_SECONDS) {
        return core::make_error(core::Errc::Forbidden, "this upload has expired");
    }
    auto stored = originals.complete(upload);
    if (stored) {
        return json_response(201, image_json(stored->record));
    }
    const auto code = stored.error().code;
    if (code == core::Errc::Conflict || code == core::Errc::Forbidden) {
        // Another completion of this upload may have used its token since it was read.
        CDN_TRY(again, caller_upload(deps, req));
        if (again.used_at) {
            return recorded_completion(again);
        }
    }
    return stored.error();
}

/** The usable upload token the request names; forbidden for an unknown, used or expired one. */
core::Result<db::UploadTokenRecord> usable_token(ApiDeps& deps, ApiRequest& req) {
    const auto refused =
        core::make_error(core::Errc::Forbidden, "this upload URL is unknown, used or expired");
    const auto token = req.param("token");
    if (!token.starts_with("ut_")) {
        return refused;
    }
    CDN_TRY(found, db::UploadTokenRepository(deps.db).find(token_id(token)));
    if (!found || !db::UploadTokenRepository::usable(*found, deps.clock.unix_seconds())) {
        return refused;
    }
    return std::move(*found);
}

/** Before the body of a presigned upload is read: the size the token was issued for. */
core::Result<std::uint64_t> token_body_limit(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(bound, usable_token(deps, req));
    return static_cast<std::uint64_t>(bound.max_bytes);
}

/** Before the body of a direct upload is read: the caller's plan's largest original. */
core::Result<std::uint64_t> plan_body_limit(ApiDeps& deps, ApiRequest& req) {
    CDN_TRY(customer, caller_customer(deps, req));
    return images::max_original_bytes(deps.plan_of(customer), deps.limits);
}

core::Result<http::Response> upload_with_token(ApiDeps& deps, Originals& originals,
                                               ApiRequest& req) {
    CDN_TRY(bound, usable_token(deps, req));
    const auto sent_type =
        images::canonical_image_type(req.http.header("content-type").value_or(""));
    if (!sent_type || *sent_type != bound.content_type) {
        return core::make_error(core::Errc::UnsupportedMediaType,
                                "this upload URL takes Content-Type: " + bound.content_type +
                                    " only");
    }
    if (req.http.body.size() > static_cast<std::uint64_t>(bound.max_bytes)) {
        return core::make_error(core::Errc::PayloadTooLarge,
                                "this upload URL takes at most " +
                                    std::to_string(bound.max_bytes) + " bytes");
    }
    CDN_TRY(stored, originals.put(bound.customer_id, bound.path, req.http.body, &bound));
    return stored_response(stored);
}

core::Result<http::Response> put_image(Originals& originals, ApiRequest& req) {
    CDN_TRY(stored, originals.put(req.caller().customer_id, req.param("path"), req.http.body));
    return stored_response(stored);
}

core::Result<http::Response> get_image(Originals& originals, ApiRequest& req) {
    CDN_TRY(found, originals.find(req.caller().customer_id, req.param("path")));
    return json_response(200, image_json(found));
}

core::Result<http::Response> delete_image(Originals& originals, ApiRequest& req) {
    CDN_TRY_VOID(originals.remove(req.caller().customer_id, req.param("path")));
    return no_content();
}

} // namespace

void add_images_routes(ApiRouter& router, ApiDeps& deps) {
    // Shared by the handlers, which outlive this call; deps outlives the router.
    auto originals = std::make_shared<Originals>(deps);
    using OriginalsHandler = core::Result<http::Response> (*)(Originals&, ApiRequest&);
    const auto on_originals = [&originals](OriginalsHandler handler) -> ApiHandler {
        return [originals, handler](ApiRequest& req) { return handler(*originals, req); };
    };
    ApiDeps* d = &deps;
    router.add({"POST", "/api/v1/images/upload-url", "createUploadUrl", Access::Customer,
                [d, originals](ApiRequest& req) {
                    return create_upload_url(*d, *originals, req);
                }});
    router.add({"PUT", "/api/v1/uploads/{token}", "uploadWithToken", Access::Public,
                [d, originals](ApiRequest& req) { return upload_with_token(*d, *originals, req); },
                [d](ApiRequest& req) { return token_body_limit(*d, req); }});
    router.add({"POST", "/api/v1/uploads/{upload_id}/complete", "completeUpload",
                Access::Customer, [d, originals](ApiRequest& req) {
                    return complete_upload(*d, *originals, req);
                }});
    router.add({"GET", "/api/v1/images", "listImages", Access::Customer,
                with_deps(deps, list_images)});
    router.add({"PUT", "/api/v1/images/{path*}", "uploadImage", Access::Customer,
                on_originals(put_image),
                [d](ApiRequest& req) { return plan_body_limit(*d, req); }});
    router.add({"GET", "/api/v1/images/{path*}", "getImage", Access::Customer,
                on_originals(get_image)});
    router.add({"DELETE", "/api/v1/images/{path*}", "deleteImage", Access::Customer,
                on_originals(delete_image)});
}

} // namespace cdn::api
