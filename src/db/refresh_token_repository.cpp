#include "db/refresh_token_repository.h"

#include "db/values.h"

namespace cdn::db {
namespace {

constexpr std::string_view COLUMNS =
    "id, family_id, customer_id, token_hash, created_at, expires_at, used_at, revoked_at";

RefreshTokenRecord to_refresh_token(const Row& row) {
    RefreshTokenRecord token;
    token.id = row.text(0).value_or("");
    token.family_id = row.text(1).value_or("");
    token.customer_id = row.text(2).value_or("");
    token.token_hash = row.text(3).value_or("");
    token.created_at = row.integer(4).value_or(0);
    token.expires_at = row.integer(5).value_or(0);
    token.used_at = row.integer(6);
    token.revoked_at = row.integer(7);
    return token;
}

} // namespace

core::Result<void> RefreshTokenRepository::insert(const RefreshTokenRecord& t) {
    CDN_TRY_VOID(db_.execute(
        "INSERT INTO refresh_tokens (id, family_id, customer_id, token_hash, created_at, "
        "expires_at, used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        {t.id, t.family_id, t.customer_id, t.token_hash, t.created_at, t.expires_at,
         nullable(t.used_at), nullable(t.revoked_at)}));
    return {};
}

core::Result<std::optional<RefreshTokenRecord>>
RefreshTokenRepository::find_by_hash(std::string_view token_hash) {
    std::string sql = "SELECT ";
    sql.append(COLUMNS).append(" FROM refresh_tokens WHERE token_hash = $1");
    CDN_TRY(rows, db_.query(sql, {text_value(token_hash)}));
    if (rows.empty()) {
        return std::optional<RefreshTokenRecord>();
    }
    return std::optional<RefreshTokenRecord>(to_refresh_token(rows.front()));
}

core::Result<bool> RefreshTokenRepository::mark_used(std::string_view id, std::int64_t now) {
    // One conditional UPDATE: the database decides which of two racing refreshes wins.
    CDN_TRY(changed, db_.execute("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND "
                                 "used_at IS NULL AND revoked_at IS NULL",
                                 {text_value(id), now}));
    return changed == 1;
}

core::Result<std::int64_t> RefreshTokenRepository::revoke_family(std::string_view family_id,
                                                                 std::int64_t now) {
    return db_.execute(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        {text_value(family_id), now});
}

core::Result<std::int64_t> RefreshTokenRepository::revoke_customer(std::string_view customer_id,
                                                                   std::int64_t now) {
    return db_.execute(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE customer_id = $1 AND revoked_at IS NULL",
        {text_value(customer_id), now});
}

core::Result<std::int64_t> RefreshTokenRepository::delete_expired(std::int64_t now) {
    return db_.execute("DELETE FROM refresh_tokens WHERE expires_at < $1", {now});
}

} // namespace cdn::db
