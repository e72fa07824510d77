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
    token.upload_id = row.text(8).value_or("");
    token.completion = row.text(9);
    return token;
}

constexpr const char* SELECT_TOKEN =
    "SELECT id, customer_id, path, content_type, max_bytes, created_at, expires_at, used_at, "
    "upload_id, completion FROM upload_tokens ";

} // namespace

core::Result<void> UploadTokenRepository::insert(const UploadTokenRecord& token) {
    CDN_TRY_VOID(db_.execute(
        "INSERT INTO upload_tokens (id, customer_id, path, content_type, max_bytes, created_at, "
        "expires_at, used_at, upload_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        {token.id, token.customer_id, token.path, token.content_type, token.max_bytes,
         token.created_at, token.expires_at, nullable(token.used_at),
         token.upload_id.empty() ? Value{nullptr} : text_value(token.upload_id)}));
    return {};
}

core::Result<std::optional<UploadTokenRecord>> UploadTokenRepository::find(std::string_view id) {
    CDN_TRY(rows, db_.query(std::string(SELECT_TOKEN) + "WHERE id = $1", {text_value(id)}));
    if (rows.empty()) {
        return std::optional<UploadTokenRecord>();
    }
    return std::optional<UploadTokenRecord>(to_token(rows.front()));
}

core::Result<std::optional<UploadTokenRecord>>
UploadTokenRepository::find_upload(std::string_view customer_id, std::string_view upload_id) {
    CDN_TRY(rows, db_.query(std::string(SELECT_TOKEN) + "WHERE upload_id = $1 AND customer_id = $2",
                            {text_value(upload_id), text_value(customer_id)}));
    if (rows.empty()) {
        return std::optional<UploadTokenRecord>();
    }
    return std::optional<UploadTokenRecord>(to_token(rows.front()));
}

core::Result<void> UploadTokenRepository::set_completion(std::string_view id,
                                                         std::string_view completion) {
    CDN_TRY_VOID(db_.execute("UPDATE upload_tokens SET completion = $2 WHERE id = $1",
                             {text_value(id), text_value(completion)}));
    return {};
}

core::Result<std::vector<UploadTokenRecord>>
UploadTokenRepository::expired_uploads(std::int64_t before, std::size_t limit) {
    CDN_TRY(rows, db_.query(std::string(SELECT_TOKEN) +
                                "WHERE expires_at < $1 AND upload_id IS NOT NULL LIMIT $2",
                            {before, static_cast<std::int64_t>(limit)}));
    std::vector<UploadTokenRecord> tokens;
    for (const auto& row : rows) {
        tokens.push_back(to_token(row));
    }
    return tokens;
}

core::Result<void> UploadTokenRepository::remove(std::string_view id) {
    CDN_TRY_VOID(db_.execute("DELETE FROM upload_tokens WHERE id = $1", {text_value(id)}));
    return {};
}

bool UploadTokenRepository::usable(const UploadTokenRecord& token, std::int64_t now) {
    return !token.used_at && now < token.expires_at;
}

core::Result<bool> UploadTokenRepository::consume(std::string_view id, std::int64_t now) {
    return consume_within(id, now, 0);
}

core::Result<bool> UploadTokenRepository::consume_within(std::string_view id, std::int64_t now,
                                                         std::int64_t grace) {
    // The condition is the whole check: no read-then-write window for a second upload.
    CDN_TRY(updated, db_.execute("UPDATE upload_tokens SET used_at = $2 "
                                 "WHERE id = $1 AND used_at IS NULL AND expires_at > $3",
                                 {text_value(id), now, now - grace}));
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
