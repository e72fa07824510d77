#include "api/images/originals.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "api/common/announce.h"
#include "api/common/customer_json.h"
#include "core/random.h"
#include "core/strings.h"
#include "storage/key.h"
#include "transform/engine.h"
#include "transform/vips_runtime.h"

namespace cdn::api::images {
namespace {

using transform::ImageFormat;

constexpr std::array ACCEPTED_FORMATS{ImageFormat::Jpeg, ImageFormat::Png,  ImageFormat::Webp,
                                      ImageFormat::Avif, ImageFormat::Heic, ImageFormat::Gif,
                                      ImageFormat::Svg,  ImageFormat::Tiff, ImageFormat::Jxl};

/** Other names clients use for the same formats. */
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> TYPE_ALIASES{{
    {"image/jpg", "image/jpeg"},
    {"image/pjpeg", "image/jpeg"},
    {"image/heif", "image/heic"},
    {"image/x-png", "image/png"},
    {"image/svg", "image/svg+xml"},
}};

/** How long a write holds its path and bytes: far longer than any store write, so that only a
 *  node that died mid-write leaves a reservation to expire. */
constexpr std::int64_t RESERVATION_SECONDS = 5 * 60;

std::string mb(std::uint64_t bytes) {
    return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1'000'000.0);
}

/** A store failure as the API answers it: path problems and conflicts as they are, anything
 *  else as the store being unavailable (503), the cause in the log. */
core::Error store_error(const core::Error& error, std::string_view action) {
    if (error.code == core::Errc::InvalidPath || error.code == core::Errc::Conflict ||
        error.code == core::Errc::NotFound) {
        return error;
    }
    spdlog::error("image store {} failed: {} {}", action, error.message, error.detail);
    return core::make_error(core::Errc::Unavailable, "the image store is unavailable",
                            error.detail);
}

void purge_variants(kv::KvStore& kv, std::string_view public_key, std::string_view path) {
    cache::PurgeRequest purge;
    purge.public_key = std::string(public_key);
    purge.scope = cache::PurgeRequest::Scope::Paths;
    purge.paths.emplace_back(path);
    announce_purge(kv, purge);
}

/** Uses up a presigned upload's token (none for a direct upload); forbidden when it has been
 *  used or has expired since it was checked. */
core::Result<void> consume_token(db::UploadTokenRepository& tokens,
                                 const db::UploadTokenRecord* token, std::int64_t now,
                                 std::int64_t grace) {
    if (token == nullptr) {
        return {};
    }
    CDN_TRY(consumed, tokens.consume_within(token->id, now, grace));
    if (!consumed) {
        return core::make_error(core::Errc::Forbidden,
                                "this upload URL has been used or has expired");
    }
    return {};
}

/** Gives a used-up token back after a failed write: nothing was stored with it. */
void release_token(db::UploadTokenRepository& tokens, const db::UploadTokenRecord* token,
                   std::int64_t now) {
    if (token == nullptr) {
        return;
    }
    if (auto released = tokens.release(token->id, now); !released) {
        spdlog::warn("upload token not released: {}", released.error().detail);
    }
}

/** Whether a completion's error rejects the staged object for good (it is then deleted), as
 *  opposed to a conflict or an outage, after which the client may retry. */
bool rejects_object(core::Errc code) {
    return code == core::Errc::UploadMismatch || code == core::Errc::UnsupportedMediaType ||
           code == core::Errc::PayloadTooLarge || code == core::Errc::StorageQuotaExceeded ||
           code == core::Errc::InvalidPath;
}

} // namespace

json::object image_json(const db::OriginalRecord& original) {
    const auto number = [](const std::optional<std::int64_t>& v) {
        return v ? json::value(*v) : json::value(nullptr);
    };
    return {
        {"path", original.path},
        {"size", original.bytes},
        {"width", number(original.width)},
        {"height", number(original.height)},
        {"format", format_of_type(original.content_type)},
        {"content_type", original.content_type},
        {"etag", original.etag},
        {"created_at", core::rfc3339(original.created_at)},
        {"updated_at", core::rfc3339(original.updated_at)},
    };
}

std::optional<std::string_view> canonical_image_type(std::string_view content_type) {
    const auto type =
        core::to_lower(core::trim(core::split(content_type, ';').front()));
    for (const auto& [alias, canonical] : TYPE_ALIASES) {
        if (type == alias) {
            return canonical;
        }
    }
    for (const auto format : ACCEPTED_FORMATS) {
        if (type == transform::mime_type(format)) {
            return transform::mime_type(format);
        }
    }
    return std::nullopt;
}

std::string_view format_of_type(std::string_view content_type) {
    for (const auto format : ACCEPTED_FORMATS) {
        if (content_type == transform::mime_type(format)) {
            return transform::format_name(format);
        }
    }
    return transform::format_name(ImageFormat::Unknown);
}

core::Result<void> validate_path(std::string_view path, std::size_t max_segments) {
    CDN_TRY_VOID(storage::validate_key(path));
    CDN_TRY_VOID(storage::validate_depth(path, max_segments));
    for (const auto segment : core::split(path, '/')) {
        if (segment.starts_with(".tmp-")) {
            return core::make_error(core::Errc::InvalidPath,
                                    "a path segment must not start with '.tmp-'");
        }
    }
    return {};
}

std::string store_key(std::string_view public_key, std::string_view path) {
    std::string key(public_key);
    key += '/';
    key += path;
    return key;
}

std::string staging_key(std::string_view upload_id) { return store_key("_uploads", upload_id); }

core::Result<CheckedImage> check_content(std::string_view bytes, const transform::Limits& limits) {
    const auto unsupported = [](std::string message, std::string detail = {}) {
        return core::make_error(core::Errc::UnsupportedMediaType, std::move(message),
                                std::move(detail));
    };
    // Magic bytes first: no decoder ever sees what is not one of the input formats.
    if (transform::sniff_format(bytes) == ImageFormat::Unknown) {
        return unsupported("the file is not an image in a supported format (JPEG, PNG, WebP, "
                           "AVIF, HEIC, GIF, SVG, TIFF or JPEG XL)");
    }
    auto probed = transform::probe_source(bytes, limits);
    transform::end_vips_job();
    if (!probed) {
        const auto& error = probed.error();
        if (error.code == core::Errc::UnprocessableImage) {
            return unsupported("the file's header does not decode as a supported image",
                               error.detail);
        }
        if (error.code == core::Errc::SourceTooLarge) {
            return core::make_error(core::Errc::PayloadTooLarge, error.message, error.detail);
        }
        return error;
    }
    CheckedImage image{.format = probed->format, .width = probed->width, .height = probed->height};
    // EXIF orientations 5–8 turn the image a quarter: the edge serves it turned.
    if (probed->orientation >= 5 && probed->orientation <= 8) {
        std::swap(image.width, image.height);
    }
    return image;
}

std::uint64_t max_original_bytes(const account::Plan& plan, const transform::Limits& limits) {
    return std::min(plan.max_original_bytes, limits.max_original_bytes);
}

core::Result<void> Originals::check_quota(db::Database& db, const db::CustomerRecord& customer,
                                          std::string_view path, std::uint64_t size,
                                          std::int64_t now) {
    const auto& plan = deps_.plan_of(customer);
    CDN_TRY(others, db::StorageReservationRepository(db).held_bytes_except(customer.id, path, now));
    const auto after = static_cast<std::uint64_t>(std::max<std::int64_t>(0, others)) + size;
    if (after > plan.storage_quota_bytes) {
        return core::make_error(
            core::Errc::StorageQuotaExceeded,
            fmt::format("storing this image would use {} of the {} plan's {} of storage",
                        mb(after), plan.name, mb(plan.storage_quota_bytes)));
    }
    return {};
}

core::Result<db::StorageReservation> Originals::reserve(const db::CustomerRecord& customer,
                                                        std::string_view path, Claim claim,
                                                        std::int64_t now) {
    const db::StorageReservation wanted{
        .customer_id = customer.id,
        .path = std::string(path),
        .id = core::random_hex(16),
        .bytes = static_cast<std::int64_t>(claim.bytes.value_or(0)),
        .expires_at = now + RESERVATION_SECONDS,
    };
    // One transaction: the token, the path and the quota are decided together for every node
    // (a body the database may run again: it only reads and sets).
    CDN_TRY_VOID(deps_.db.transaction([&](db::Database& tx) -> core::Result<void> {
        db::UploadTokenRepository tokens(tx);
        CDN_TRY_VOID(consume_token(tokens, claim.token, now, claim.token_grace));
        CDN_TRY(held, db::StorageReservationRepository(tx).try_hold(wanted, now));
        if (!held) {
            return core::make_error(core::Errc::Conflict,
                                    "another upload or delete of this path is in progress; "
                                    "retry when it has finished");
        }
        return claim.bytes ? check_quota(tx, customer, path, *claim.bytes, now)
                           : core::Result<void>{};
    }));
    return wanted;
}

void Originals::give_back(const db::StorageReservation& reservation,
                          const db::UploadTokenRecord* token, std::int64_t used_at) {
    if (auto released = db::StorageReservationRepository(deps_.db).release(reservation);
        !released) {
        spdlog::warn("storage reservation of {} not released (it expires): {}", reservation.path,
                     released.error().detail);
    }
    db::UploadTokenRepository tokens(deps_.db);
    release_token(tokens, token, used_at);
}

core::Result<void> Originals::check_declared(const db::CustomerRecord& customer,
                                             std::string_view path, std::uint64_t size) {
    CDN_TRY_VOID(validate_path(path, deps_.config.max_path_segments));
    CDN_TRY_VOID(storage::validate_key(store_key(customer.public_key, path)));
    const auto& plan = deps_.plan_of(customer);
    if (const auto max = max_original_bytes(plan, deps_.limits); size > max) {
        return core::make_error(core::Errc::PayloadTooLarge,
                                fmt::format("the {} plan accepts originals up to {} bytes",
                                            plan.name, max));
    }
    // Advisory: the upload itself is checked again, and then reserves its bytes.
    return check_quota(deps_.db, customer, path, size, deps_.clock.unix_seconds());
}

core::Result<db::CustomerRecord> Originals::writer(std::string_view customer_id,
                                                  std::string_view path) {
    CDN_TRY_VOID(validate_path(path, deps_.config.max_path_segments));
    CDN_TRY(customer, load_customer(deps_.db, customer_id));
    CDN_TRY_VOID(storage::validate_key(store_key(customer.public_key, path)));
    return customer;
}

core::Result<CheckedImage> Originals::check_upload(const db::CustomerRecord& customer,
                                                   std::string_view bytes,
                                                   const db::UploadTokenRecord* token) {
    const auto& plan = deps_.plan_of(customer);
    if (const auto max = max_original_bytes(plan, deps_.limits); bytes.size() > max) {
        return core::make_error(core::Errc::PayloadTooLarge,
                                fmt::format("the {} plan accepts originals up to {} bytes",
                                            plan.name, max));
    }
    CDN_TRY(image, check_content(bytes, deps_.limits));
    if (token != nullptr && transform::mime_type(image.format) != token->content_type) {
        return core::make_error(
            core::Errc::UnsupportedMediaType,
            fmt::format("the file is {}, but this upload URL was issued for {}",
                        transform::mime_type(image.format), token->content_type));
    }
    return image;
}

core::Result<StoredOriginal> Originals::put(std::string_view customer_id, std::string_view path,
                                            std::string_view bytes,
                                            const db::UploadTokenRecord* token) {
    CDN_TRY(customer, writer(customer_id, path));
    CDN_TRY(image, check_upload(customer, bytes, token));
    const auto key = store_key(customer.public_key, path);
    return write(customer, path, bytes.size(), image, {.bytes = bytes.size(), .token = token},
                 [&] { return deps_.store.put(key, bytes); });
}

core::Result<std::string> Originals::read_staged(const db::UploadTokenRecord& upload) {
    const auto key = staging_key(upload.upload_id);
    auto info = deps_.store.head(key);
    if (!info && info.error().code == core::Errc::NotFound) {
        return core::make_error(core::Errc::Conflict,
                                "nothing has been uploaded to this upload's URL yet");
    }
    if (!info) {
        return store_error(info.error(), "read");
    }
    // The URL signed both, but not every S3-compatible store checks what it signs.
    const auto type = canonical_image_type(info->content_type);
    if (info->size != static_cast<std::uint64_t>(upload.max_bytes) ||
        (!info->content_type.empty() && type != upload.content_type)) {
        return core::make_error(
            core::Errc::UploadMismatch,
            fmt::format("the upload ({} bytes of {}) is not what its URL was made for ({} bytes "
                        "of {})",
                        info->size, info->content_type, upload.max_bytes, upload.content_type));
    }
    auto object = deps_.store.get(key);
    if (!object && object.error().code == core::Errc::SourceTooLarge) {
        // Replaced by a larger object since the HEAD: over the server's limit, refused as such.
        return core::make_error(core::Errc::PayloadTooLarge, object.error().message);
    }
    if (!object) {
        return store_error(object.error(), "read");
    }
    return std::move(object->bytes).take();
}

core::Result<StoredOriginal> Originals::complete(const db::UploadTokenRecord& upload) {
    CDN_TRY(customer, writer(upload.customer_id, upload.path));
    auto stored = complete_staged(customer, upload);
    if (!stored && rejects_object(stored.error().code)) {
        if (auto removed = deps_.store.remove(staging_key(upload.upload_id));
            !removed && removed.error().code != core::Errc::NotFound) {
            spdlog::warn("rejected upload {} not deleted (swept later): {}", upload.upload_id,
                         removed.error().detail);
        }
    }
    return stored;
}

core::Result<StoredOriginal> Originals::complete_staged(const db::CustomerRecord& customer,
                                                        const db::UploadTokenRecord& upload) {
    CDN_TRY(bytes, read_staged(upload));
    CDN_TRY(image, check_upload(customer, bytes, &upload));
    const Claim claim{.bytes = bytes.size(), .token = &upload, .token_grace = COMPLETION_GRACE_SECONDS};
    return write(customer, upload.path, bytes.size(), image, claim, [&] {
        return deps_.store.move(staging_key(upload.upload_id),
                                store_key(customer.public_key, upload.path));
    });
}

core::Result<StoredOriginal> Originals::write(const db::CustomerRecord& customer,
                                              std::string_view path, std::uint64_t size,
                                              const CheckedImage& image, Claim claim,
                                              const StoreStep& store) {
    const auto now = deps_.clock.unix_seconds();
    CDN_TRY(reservation, reserve(customer, path, claim, now));
    // From here on a failure gives the reservation and the token back.
    auto stored = store();
    if (!stored) {
        give_back(reservation, claim.token, now);
        return store_error(stored.error(), "write");
    }
    StoredOriginal out{.record = {
                           .path = std::string(path),
                           .bytes = static_cast<std::int64_t>(size),
                           .content_type = std::string(transform::mime_type(image.format)),
                           .width = image.width,
                           .height = image.height,
                           .etag = stored->etag,
                           .created_at = now,
                           .updated_at = now,
                       }};
    if (auto saved = save_row(reservation, claim.token, out); !saved) {
        // The store already holds the new version; the row still describes the old one until
        // the next successful put or delete of this path.
        spdlog::error("original {} stored but its row not written: {}", path,
                      saved.error().detail);
        give_back(reservation, claim.token, now);
        return saved.error();
    }
    // Always, not only on a replace: a 404 for this path may be cached at the edge.
    purge_variants(deps_.kv, customer.public_key, path);
    return out;
}

core::Result<void> Originals::save_row(const db::StorageReservation& reservation,
                                       const db::UploadTokenRecord* token, StoredOriginal& out) {
    // The row and the end of the reservation together: the bytes are counted once throughout.
    return deps_.db.transaction([&](db::Database& tx) -> core::Result<void> {
        db::OriginalRepository repo(tx);
        CDN_TRY(existing, repo.find(reservation.customer_id, reservation.path));
        out.created = !existing;
        out.record.created_at = existing ? existing->created_at : out.record.updated_at;
        CDN_TRY_VOID(repo.upsert(reservation.customer_id, out.record));
        CDN_TRY_VOID(db::StorageReservationRepository(tx).release(reservation));
        if (token == nullptr) {
            return {};
        }
        return db::UploadTokenRepository(tx).set_completion(
            token->id, json::serialize(image_json(out.record)));
    });
}

core::Result<bool> Originals::drop_row(const db::StorageReservation& reservation) {
    bool had_row = false;
    CDN_TRY_VOID(deps_.db.transaction([&](db::Database& tx) -> core::Result<void> {
        CDN_TRY(removed, db::OriginalRepository(tx).remove(reservation.customer_id,
                                                           reservation.path));
        had_row = removed;
        CDN_TRY_VOID(db::StorageReservationRepository(tx).release(reservation));
        return {};
    }));
    return had_row;
}

core::Result<db::OriginalRecord> Originals::find(std::string_view customer_id,
                                                 std::string_view path) {
    CDN_TRY_VOID(validate_path(path, deps_.config.max_path_segments));
    CDN_TRY(found, db::OriginalRepository(deps_.db).find(customer_id, path));
    if (!found) {
        return core::make_error(core::Errc::NotFound, "no image at this path");
    }
    return std::move(*found);
}

core::Result<void> Originals::remove(std::string_view customer_id, std::string_view path) {
    CDN_TRY(customer, writer(customer_id, path));
    CDN_TRY(reservation, reserve(customer, path, {}, deps_.clock.unix_seconds()));
    // The object first: once it is gone nothing serves it, whatever happens to the row. An
    // object without a row (put there by the operator) is removed too.
    bool existed = true;
    if (auto removed = deps_.store.remove(store_key(customer.public_key, path)); !removed) {
        if (removed.error().code != core::Errc::NotFound) {
            give_back(reservation, nullptr, 0);
            return store_error(removed.error(), "delete");
        }
        existed = false;
    }
    auto had_row = drop_row(reservation);
    if (!had_row) {
        give_back(reservation, nullptr, 0);
        return had_row.error();
    }
    if (!existed && !*had_row) {
        return core::make_error(core::Errc::NotFound, "no image at this path");
    }
    purge_variants(deps_.kv, customer.public_key, path);
    return {};
}

} // namespace cdn::api::images
