#include "api/images/originals.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "api/common/announce.h"
#include "api/common/customer_json.h"
#include "core/hash.h"
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
                                 const db::UploadTokenRecord* token, std::int64_t now) {
    if (token == nullptr) {
        return {};
    }
    CDN_TRY(consumed, tokens.consume(token->id, now));
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

} // namespace

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

std::mutex& Originals::lock_for(std::string_view customer_id) {
    return locks_[core::hash64(customer_id) % locks_.size()];
}

core::Result<void> Originals::check_quota(const db::CustomerRecord& customer,
                                          const account::Plan& plan, std::string_view path,
                                          std::uint64_t size) {
    db::OriginalRepository repo(deps_.db);
    CDN_TRY(used, repo.total_bytes(customer.id));
    CDN_TRY(existing, repo.find(customer.id, path));
    const auto replaced = existing ? existing->bytes : 0;
    const auto kept = static_cast<std::uint64_t>(std::max<std::int64_t>(0, used - replaced));
    const auto after = kept + size;
    if (after > plan.storage_quota_bytes) {
        return core::make_error(
            core::Errc::StorageQuotaExceeded,
            fmt::format("storing this image would use {} of the {} plan's {} of storage",
                        mb(after), plan.name, mb(plan.storage_quota_bytes)));
    }
    return {};
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
    return check_quota(customer, plan, path, size);
}

core::Result<StoredOriginal> Originals::put(std::string_view customer_id, std::string_view path,
                                            std::string_view bytes,
                                            const db::UploadTokenRecord* token) {
    CDN_TRY_VOID(validate_path(path, deps_.config.max_path_segments));
    CDN_TRY(customer, load_customer(deps_.db, customer_id));
    CDN_TRY_VOID(storage::validate_key(store_key(customer.public_key, path)));
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
    return write(customer, path, bytes, image, token);
}

core::Result<StoredOriginal> Originals::write(const db::CustomerRecord& customer,
                                              std::string_view path, std::string_view bytes,
                                              const CheckedImage& image,
                                              const db::UploadTokenRecord* token) {
    const auto& plan = deps_.plan_of(customer);
    const std::lock_guard lock(lock_for(customer.id));
    CDN_TRY_VOID(check_quota(customer, plan, path, bytes.size()));
    db::OriginalRepository repo(deps_.db);
    CDN_TRY(existing, repo.find(customer.id, path));
    const auto now = deps_.clock.unix_seconds();
    db::UploadTokenRepository tokens(deps_.db);
    CDN_TRY_VOID(consume_token(tokens, token, now));
    // A failure from here on gives the token back.
    auto stored = deps_.store.put(store_key(customer.public_key, path), bytes);
    if (!stored) {
        release_token(tokens, token, now);
        return store_error(stored.error(), "write");
    }
    db::OriginalRecord record{
        .path = std::string(path),
        .bytes = static_cast<std::int64_t>(bytes.size()),
        .content_type = std::string(transform::mime_type(image.format)),
        .width = image.width,
        .height = image.height,
        .etag = stored->etag,
        .created_at = existing ? existing->created_at : now,
        .updated_at = now,
    };
    if (auto saved = repo.upsert(customer.id, record); !saved) {
        // The store already holds the new version; the row still describes the old one until
        // the next successful put or delete of this path.
        spdlog::error("original {} stored but its row not written: {}", path,
                      saved.error().detail);
        release_token(tokens, token, now);
        return saved.error();
    }
    // Always, not only on a replace: a 404 for this path may be cached at the edge.
    purge_variants(deps_.kv, customer.public_key, path);
    return StoredOriginal{.record = std::move(record), .created = !existing};
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
    CDN_TRY_VOID(validate_path(path, deps_.config.max_path_segments));
    CDN_TRY(customer, load_customer(deps_.db, customer_id));
    CDN_TRY_VOID(storage::validate_key(store_key(customer.public_key, path)));
    const std::lock_guard lock(lock_for(customer.id));
    // The object first: once it is gone nothing serves it, whatever happens to the row. An
    // object without a row (put there by the operator) is removed too.
    bool existed = true;
    if (auto removed = deps_.store.remove(store_key(customer.public_key, path)); !removed) {
        if (removed.error().code != core::Errc::NotFound) {
            return store_error(removed.error(), "delete");
        }
        existed = false;
    }
    CDN_TRY(had_row, db::OriginalRepository(deps_.db).remove(customer.id, path));
    if (!existed && !had_row) {
        return core::make_error(core::Errc::NotFound, "no image at this path");
    }
    purge_variants(deps_.kv, customer.public_key, path);
    return {};
}

} // namespace cdn::api::images
