#include "db/upload_token_repository.h"

#include "db/values.h"

namespace cdn::db {
namespace {

UploadTokenRecord to_token(const Row& row) {
    UploadTokenRecord token;
    token.id = row.text(0).value_or("");
    token.customer_id = row.text(1).value_or("");
    token.path = row.text(2).value_or("");
    token.content_type = row.text(3).value_or("");
    token.max_bytes = row.integer(4).value_or(0);
    token.created_at = row.integer(5).value_or(0);
    token.expires_at = row.integer(6).value_or(0);
    token.used_at = row.integer(7);
    return token;
}

} // namespace

core::Result<void> UploadTokenRepository::insert(const UploadTokenRecord& token) {
    CDN_TRY_VOID(db_.execute(
        "INSERT INTO upload_tokens (id, customer_id, path, content_type, max_bytes, created_at, "
        "expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        {token.id, token.customer_id, token.path, token.content_type, token.max_bytes,
         token.created_at, token.expires_at, nullable(token.used_at)}));
    return {};
}

core::Result<std::optional<UploadTokenRecord>> UploadTokenRepository::find(std::string_view id) {
    CDN_TRY(rows, db_.query("SELECT id, customer_id, path, content_type, max_bytes, created_at, "
                            "expires_at, used_at FROM upload_tokens WHERE id = $1",
                            {text_value(id)}));
    if (rows.empty()) {
        return std::optional<UploadTokenRecord>();
    }
    return std::optional<UploadTokenRecord>(to_token(rows.front()));
}

bool UploadTokenRepository::usable(const UploadTokenRecord& token, std::int64_t now) {
    return !token.used_at && now < token.expires_at;
}

core::Result<bool> UploadTokenRepository::consume(std::string_view id, std::int64_t now) {
    // The condition is the whole check: no read-then-write window for a second upload.
    CDN_TRY(updated, db_.execute("UPDATE upload_tokens SET used_at = $2 "
                                 "WHERE id = $1 AND used_at IS NULL AND expires_at > $2",
                                 {text_value(id), now}));
    return updated == 1;
}

core::Result<void> UploadTokenRepository::release(std::string_view id, std::int64_t used_at) {
    CDN_TRY_VOID(db_.execute("UPDATE upload_tokens SET used_at = NULL "
                             "WHERE id = $1 AND used_at = $2",
                             {text_value(id), used_at}));
    return {};
}

core::Result<std::int64_t> UploadTokenRepository::remove_expired(std::int64_t before) {
    return db_.execute("DELETE FROM upload_tokens WHERE expires_at < $1", {before});
}

} // namespace cdn::db
